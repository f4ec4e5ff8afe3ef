package ocr_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/sandbox"
	"realname/service/ocr"
	"realname/testdata/idcard"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// vendors serves the apizero and acedata fakes and returns clients for them.
func vendors(t *testing.T) (*sandbox.Server, []ocr.Provider) {
	t.Helper()
	cards, err := sandbox.LoadCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(quietLog)
	sandbox.NewApizero(cards, "").Mount(srv)
	sandbox.NewAcedata(cards, "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	az := ocr.NewApizero(srv.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, nil)
	az.SetRateLimit(1000, 1000)
	ad, err := ocr.NewAcedata(srv.URL()+"/acedata", sandbox.SandboxAcedataKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, []ocr.Provider{az, ad}
}

func front(t *testing.T) (idcard.Card, []byte) {
	t.Helper()
	cards, _ := idcard.Cards()
	img, err := idcard.Image(cards[0].Front)
	if err != nil {
		t.Fatal(err)
	}
	return cards[0], img
}

func TestChainFallsThroughAndStopsOnDefinitive(t *testing.T) {
	srv, ps := vendors(t)
	chain := ocr.NewChain(ps, ocr.ChainOptions{Timeout: time.Second}, quietLog, prometheus.NewRegistry())
	ctx := context.Background()
	c, img := front(t)

	if err := srv.SetFault(sandbox.Fault{Upstream: "apizero", Mode: "error"}); err != nil {
		t.Fatal(err)
	}
	res, attempts, err := chain.Recognize(ctx, ocr.Request{Image: img, Side: ocr.SideFront})
	if err != nil || res.Provider != "acedata" || res.IDNumber != c.IDNumber {
		t.Fatalf("fallback: %+v %v", res, err)
	}
	if len(attempts) != 2 || attempts[0].Outcome != ocr.OutcomeFailed || attempts[1].Outcome != ocr.OutcomeOK {
		t.Fatalf("attempts %+v", attempts)
	}
	_ = srv.SetFault(sandbox.Fault{Upstream: "apizero", Mode: "ok"})

	// No card in the photo: the first vendor's answer is final.
	before := srv.Calls()["acedata POST /acedata/identity/idcard/ocr"]
	_, attempts, err = chain.Recognize(ctx, ocr.Request{Image: idcard.NotACard(), Side: ocr.SideFront})
	if !errors.Is(err, ocr.ErrNoCard) || len(attempts) != 1 {
		t.Fatalf("not a card: %v, %d attempts", err, len(attempts))
	}
	if srv.Calls()["acedata POST /acedata/identity/idcard/ocr"] != before {
		t.Fatal("a definitive answer went on to the next vendor")
	}

	// Everyone down: ErrUnavailable with both attempts.
	_ = srv.SetFault(sandbox.Fault{Upstream: "apizero", Mode: "quota"})
	_ = srv.SetFault(sandbox.Fault{Upstream: "acedata", Mode: "error"})
	_, attempts, err = chain.Recognize(ctx, ocr.Request{Image: img})
	if !errors.Is(err, ocr.ErrUnavailable) || len(attempts) != 2 {
		t.Fatalf("all down: %v %+v", err, attempts)
	}
}

func TestChainBreakerSkipsAFailingVendor(t *testing.T) {
	srv, ps := vendors(t)
	chain := ocr.NewChain(ps, ocr.ChainOptions{Timeout: 2 * time.Second, BreakerFailures: 3, BreakerCooldown: time.Second},
		quietLog, prometheus.NewRegistry())
	ctx := context.Background()
	_, img := front(t)
	_ = srv.SetFault(sandbox.Fault{Upstream: "apizero", Mode: "timeout"})
	for range 3 {
		if _, _, err := chain.Recognize(ctx, ocr.Request{Image: img}); err != nil {
			t.Fatal(err)
		}
	}
	calls := srv.Calls()["apizero POST /apizero/api/ocr-idcard"]
	start := time.Now()
	res, attempts, err := chain.Recognize(ctx, ocr.Request{Image: img})
	if err != nil || res.Provider != "acedata" || attempts[0].Outcome != ocr.OutcomeOpen {
		t.Fatalf("open circuit: %+v %+v %v", res, attempts, err)
	}
	if srv.Calls()["apizero POST /apizero/api/ocr-idcard"] != calls {
		t.Fatal("a vendor with an open circuit was called")
	}
	if time.Since(start) >= 2*time.Second {
		t.Fatalf("open circuit still waited %v for the vendor", time.Since(start))
	}
	// After the cooldown one trial call goes through and, the vendor being
	// back, closes the circuit.
	_ = srv.SetFault(sandbox.Fault{Upstream: "apizero", Mode: "ok"})
	time.Sleep(1100 * time.Millisecond)
	res, _, err = chain.Recognize(ctx, ocr.Request{Image: img})
	if err != nil || res.Provider != "apizero" {
		t.Fatalf("after cooldown: %+v %v", res, err)
	}
}
