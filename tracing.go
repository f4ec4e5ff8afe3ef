package main

import (
	"context"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"

	"realname/config"
	"realname/service/tracing"
)

// startTracing builds the tracer provider the OTEL_* variables ask for:
// off (a no-op, nothing started) unless an OTLP endpoint is named. No
// global tracer provider or propagator is set: every instrumented
// component is handed tr by serve. The one global touched is the SDK's
// error handler, its only way to report a failed export, set here once per
// process so such failures reach our JSON log instead of the standard
// logger.
func startTracing(ctx context.Context, log *slog.Logger) (*tracing.Provider, error) {
	tr, err := tracing.FromEnv(ctx, os.Getenv, version)
	if err != nil || !tr.Enabled() {
		return tr, err
	}
	tlog := log.With("component", "tracing")
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { tlog.Warn("trace export failed", "err", err) }))
	tlog.Info("tracing on: exporting spans by OTLP", "protocol", tr.Protocol())
	return tr, nil
}

// stopTracing flushes the spans still queued, after the server and its
// workers stopped, within the shutdown timeout.
func stopTracing(tr *tracing.Provider, cfg config.Config, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		log.Warn("flushing spans failed", "err", err)
	}
}
