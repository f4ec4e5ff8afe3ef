package handler

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics observes request latency by route template and status; the
// template keeps the label set small whatever paths clients send.
type httpMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "realname",
			Name:      "http_request_duration_seconds",
			Help:      "HTTP request latency by method, route template and status.",
			Buckets:   []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "realname",
			Name:      "http_requests_in_flight",
			Help:      "Requests being served now.",
		}),
	}
	reg.MustRegister(m.duration, m.inFlight)
	return m
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		c.Next()
		m.duration.WithLabelValues(methodLabel(c.Request.Method), routeLabel(c), strconv.Itoa(c.Writer.Status())).
			Observe(time.Since(start).Seconds())
	}
}
