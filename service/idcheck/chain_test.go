package idcheck_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"realname/sandbox"
	"realname/service/idcheck"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
	"realname/testdata/idcard"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestChainCachesVerdictsAndFallsThrough(t *testing.T) {
	cards, err := sandbox.LoadCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(quietLog)
	sandbox.NewAcedata(cards, "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	// The first provider has a revoked key: it can never answer.
	broken, _ := idcheck.NewAcedata(srv.URL()+"/acedata", "revoked-key", nil)
	good, _ := idcheck.NewAcedata(srv.URL()+"/acedata", sandbox.SandboxAcedataKey, nil)
	conn := redistest.Open(t)
	spec, _ := pii.GenerateKeySpec()
	ring, _ := pii.ParseKeyRing(spec)
	chain := idcheck.NewChain(idcheck.ChainDeps{Providers: []idcheck.Provider{broken, good}, Redis: conn.Client, Prefix: conn.Prefix, Hash: ring,
		Log: quietLog, Registry: prometheus.NewRegistry()})
	ctx := context.Background()
	all, _ := idcard.Cards()
	c := all[0]
	calls := func() int { return srv.Calls()["acedata POST /acedata/identity/idcard/ocr"] }

	d, err := chain.Check(ctx, c.Name, c.IDNumber)
	if err != nil || d.Outcome != idcheck.Match || d.Provider != "acedata" || d.Cached || len(d.Attempts) != 2 || d.Attempts[0].Outcome != idcheck.AttemptFailed {
		t.Fatalf("first check: %+v %v", d, err)
	}
	n := calls()
	d, err = chain.Check(ctx, c.Name, c.IDNumber)
	if err != nil || d.Outcome != idcheck.Match || !d.Cached || calls() != n {
		t.Fatalf("retry was paid again: %+v, %d calls", d, calls()-n)
	}
	// Redis holds no name or number, only the keyed hash.
	keys, _ := conn.Client.Keys(ctx, conn.Prefix+"*").Result()
	for _, k := range keys {
		v, _ := conn.Client.Get(ctx, k).Result()
		for _, secret := range []string{c.Name, c.IDNumber} {
			if strings.Contains(k, secret) || strings.Contains(v, secret) {
				t.Fatalf("cache key or value holds personal data")
			}
		}
	}
	// Nobody can answer: undecided, never a guess.
	_ = srv.SetFault(sandbox.Fault{Upstream: "acedata", Mode: "quota"})
	d, err = chain.Check(ctx, all[1].Name, all[1].IDNumber)
	if err != nil || d.Outcome != idcheck.Undecided || d.Attempts[1].Outcome != idcheck.AttemptLimit {
		t.Fatalf("all down: %+v %v", d, err)
	}
	// Undecided is not cached: once the source is back it is asked.
	_ = srv.SetFault(sandbox.Fault{Upstream: "acedata", Mode: "ok"})
	if d, _ = chain.Check(ctx, all[1].Name, all[1].IDNumber); d.Outcome == idcheck.Undecided || d.Cached {
		t.Fatalf("after recovery: %+v", d)
	}
}

// A provider that keeps failing opens its circuit, and the gauge an alert
// watches says so; it reads 0 (closed) from the start.
func TestChainExportsCircuitState(t *testing.T) {
	srv := sandbox.New(quietLog)
	sandbox.NewAcedata(nil, "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	broken, _ := idcheck.NewAcedata(srv.URL()+"/acedata", "revoked-key", nil)
	reg := prometheus.NewRegistry()
	chain := idcheck.NewChain(idcheck.ChainDeps{Providers: []idcheck.Provider{broken}, Options: idcheck.ChainOptions{BreakerFailures: 2}, Log: quietLog, Registry: reg})
	state := func() float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "realname_idcheck_circuit_state" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("realname_idcheck_circuit_state not exported")
		return 0
	}
	if s := state(); s != 0 {
		t.Fatalf("state before any call = %v, want 0 (closed)", s)
	}
	all, _ := idcard.Cards()
	for range 3 {
		if _, err := chain.Check(context.Background(), all[0].Name, all[0].IDNumber); err != nil {
			t.Fatal(err)
		}
	}
	if s := state(); s != 2 {
		t.Fatalf("state after failures = %v, want 2 (open)", s)
	}
}
