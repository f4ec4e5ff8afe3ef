package handler

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"realname/service/tracing"
)

// traced leaves out the routes a probe or a scraper calls every few
// seconds, and static files: a trace each would bury the requests of
// people. Their timings are in /metrics.
func traced(c *gin.Context) bool {
	switch c.FullPath() {
	case "/healthz", "/readyz", "/metrics", "/static/*filepath":
		return false
	}
	return true
}

// traceRequests starts a server span per request, continuing the caller's
// trace when it sends traceparent. The span is named by the method and the
// route template ("POST /server/v1/users/:openid/revoke"), never the raw
// path, which holds openids; the raw path, query, client address and user
// agent the middleware records are scrubbed before export (service/tracing).
// It runs first, so every later middleware and log line sees the span.
// Off, it is nil and the engine has no tracing at all.
func traceRequests(p *tracing.Provider) gin.HandlerFunc {
	if !p.Enabled() {
		return nil
	}
	return otelgin.Middleware(tracing.ServiceName,
		otelgin.WithTracerProvider(p.TracerProvider()),
		otelgin.WithPropagators(tracing.Inbound()),
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()), // metrics are Prometheus's (metrics.go)
		otelgin.WithSpanNameFormatter(func(c *gin.Context) string {
			return methodLabel(c.Request.Method) + " " + routeLabel(c)
		}),
		otelgin.WithGinFilter(traced))
}
