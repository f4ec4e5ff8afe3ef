package token

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	memoryHits, redisHits, degradedHits prometheus.Counter
	refreshes                           *prometheus.CounterVec
	forced, lockWaits, invalidations    prometheus.Counter
	redisErrors, redisFallbacks         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "realname", Subsystem: "wechat_token", Name: "cache_hits_total",
		Help: "Tokens served from a cache layer: memory, redis, or memory while Redis is down (degraded).",
	}, []string{"layer"})
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "realname", Subsystem: "wechat_token", Name: name, Help: help})
	}
	m := &metrics{
		memoryHits:   hits.WithLabelValues("memory"),
		redisHits:    hits.WithLabelValues("redis"),
		degradedHits: hits.WithLabelValues("degraded"),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "realname", Subsystem: "wechat_token", Name: "upstream_calls_total",
			Help: "Calls to WeChat's token endpoints by result (ok, error).",
		}, []string{"result"}),
		forced:         counter("force_refreshes_total", "stable_token calls with force_refresh."),
		lockWaits:      counter("lock_waits_total", "Loads that waited for another instance's refresh."),
		invalidations:  counter("invalidations_total", "Tokens reported as rejected by WeChat."),
		redisErrors:    counter("redis_errors_total", "Redis errors in the token cache."),
		redisFallbacks: counter("redis_fallbacks_total", "Fetches made without Redis coordination because Redis was down."),
	}
	// Both results exported at zero from the start, so an alert's
	// increase() sees the first failed refresh.
	m.refreshes.WithLabelValues("ok")
	m.refreshes.WithLabelValues("error")
	reg.MustRegister(hits, m.refreshes, m.forced, m.lockWaits, m.invalidations, m.redisErrors, m.redisFallbacks)
	return m
}
