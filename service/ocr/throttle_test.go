package ocr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"realname/sandbox"
	"realname/service/ratelimit"
	"realname/service/redisconn/redistest"
	"realname/testdata/idcard"
)

// TestSharedLimitAcrossInstances: three processes' apizero clients, each
// with its own per-process 2 req/s limiter, together send apizero more than
// its documented 2 req/s and are refused; behind one limit shared in Redis
// they are never refused, and a call whose turn is too far away is not
// sent but fails over with code rate_limited_here.
func TestSharedLimitAcrossInstances(t *testing.T) {
	_, fake, base := apizeroSandbox(t)
	fake.EnforceRate(true)
	cards, _ := idcard.Cards()
	img, err := idcard.Image(cards[0].Front)
	if err != nil {
		t.Fatal(err)
	}
	conn := redistest.Open(t)
	run := func(providers []Provider, calls int) (refused, heldBack int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				_, err := providers[i%len(providers)].Recognize(context.Background(), Request{Image: img, Side: SideFront})
				var e *Error
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
				case errors.As(err, &e) && e.Code == CodeRateLimitedHere:
					heldBack++
				case errors.As(err, &e) && e.Code == "4290":
					refused++
				default:
					t.Errorf("call %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		return refused, heldBack
	}
	instances := func(shared func() Limiter) []Provider {
		var out []Provider
		for range 3 {
			var p Provider = NewApizero(base, sandbox.SandboxApizeroKey, nil)
			if shared != nil {
				p = Throttled(p, shared())
			}
			out = append(out, p)
		}
		return out
	}
	if refused, _ := run(instances(nil), 9); refused == 0 {
		t.Fatal("the control run without a shared limit was never refused: the fake's limit is off")
	}
	time.Sleep(time.Second) // the fake's bucket refills
	shared := func() Limiter {
		return ratelimit.New(conn.Client, conn.Prefix+"ratelimit:{apizero}", 2, 10*time.Second)
	}
	if refused, held := run(instances(shared), 8); refused != 0 || held != 0 {
		t.Fatalf("behind the shared limit: %d refused by apizero, %d held back", refused, held)
	}
	// A turn further away than the wait bound: not sent, failed over.
	impatient := func() Limiter {
		return ratelimit.New(conn.Client, conn.Prefix+"ratelimit:{apizero}", 2, 100*time.Millisecond)
	}
	if refused, held := run(instances(impatient), 6); refused != 0 || held == 0 {
		t.Fatalf("impatient: %d refused, %d held back", refused, held)
	}
}
