package webhook_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/webhook"
	"realname/service/webhook/internal/whstore"
)

// TestEveryEventArrivesThroughAnOutage is the dispatcher's promise: 1,000
// decisions written to the outbox while the receiver is down all arrive
// once it is back, each signed validly, none lost, none sent twice at the
// same moment, with two dispatchers (two instances, separate connection
// pools) sharing the queue on PostgreSQL and MariaDB, one on SQLite.
func TestEveryEventArrivesThroughAnOutage(t *testing.T) {
	const events = 1000
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel() // each backend has its own database, receiver and dispatchers
			ctx := context.Background()
			db, dsn := modeltest.OpenDSN(t, b, true)
			ring := testRing(t)
			rcv := newReceiver(t)
			rcv.delay = time.Millisecond // widens the window in which a double delivery would overlap
			rcv.down.Store(true)

			first, reg1 := newService(t, db, ring, fastOptions())
			_, secret, err := first.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			rcv.setSecrets(secret)
			regs := []*prometheus.Registry{reg1}
			run(t, first)
			if b.Name != model.DialectSQLite {
				// A second instance: its own pool, its own workers.
				db2, err := model.Open(ctx, dsn, "", quietLog(), clock.System{}.Now)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = model.Close(db2) })
				second, reg2 := newService(t, db2, ring, fastOptions())
				regs = append(regs, reg2)
				run(t, second)
			}

			start := time.Now()
			insertEvents(t, db, events, 50, 20*time.Millisecond)
			// Keep the receiver down a while after the last decision, so
			// every event meets the outage at least once.
			time.Sleep(time.Second)
			downHits := rcv.hits.Load()
			rcv.down.Store(false)
			up := time.Now()

			eventually(t, 45*time.Second, "every event to arrive", func() bool {
				distinct, _ := rcv.received()
				return distinct == events && deliveryStates(t, db)[whstore.Succeeded] == events
			})
			drained := time.Since(up)
			rcv.check()
			distinct, total := rcv.received()
			states := deliveryStates(t, db)
			if states[whstore.Succeeded] != events || len(states) != 1 {
				t.Errorf("delivery states = %v, want all %d succeeded", states, events)
			}
			var attempts int64
			db.Model(&model.WebhookAttempt{}).Count(&attempts)
			var succeeded, retrying, failed float64
			outcomes := func() {
				succeeded, retrying, failed = 0, 0, 0
				for _, reg := range regs {
					succeeded += counter(t, reg, "realname_webhook_deliveries_total", map[string]string{"outcome": "succeeded"})
					retrying += counter(t, reg, "realname_webhook_deliveries_total", map[string]string{"outcome": "retrying"})
					failed += counter(t, reg, "realname_webhook_deliveries_total", map[string]string{"outcome": "failed"})
				}
			}
			// The counters move just after the commit the states come from.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if outcomes(); succeeded == events || time.Now().After(deadline) {
					break
				}
			}
			if succeeded != events || failed != 0 {
				t.Errorf("metrics: succeeded=%v failed=%v, want %d and 0", succeeded, failed, events)
			}
			if retrying == 0 || downHits == 0 {
				t.Errorf("the outage was never met: retrying=%v hits while down=%d", retrying, downHits)
			}
			ep := endpoints(t, first)[0]
			if ep.FailingSince != nil || !ep.Enabled {
				t.Errorf("after recovery the endpoint is %+v, want enabled and not failing", ep)
			}
			t.Logf("%s: dispatchers=%d events=%d distinct=%d accepted=%d (duplicates %d) requests=%d (while down %d) attempts=%d drained %v after the receiver came up, %v in all",
				b.Name, len(regs), events, distinct, total, total-distinct, rcv.hits.Load(), downHits, attempts,
				drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		})
	}
}

func endpoints(t *testing.T, s *webhook.Service) []webhook.Endpoint {
	t.Helper()
	eps, err := s.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// onlyDelivery returns the only delivery of the test.
func onlyDelivery(t *testing.T, db *gorm.DB) model.WebhookDelivery {
	t.Helper()
	ds := allDeliveries(t, db)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	return ds[0]
}

func allDeliveries(t *testing.T, db *gorm.DB) []model.WebhookDelivery {
	t.Helper()
	var ds []model.WebhookDelivery
	if err := db.Order("id").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	return ds
}

// attempted reports whether the only delivery has had n attempts.
func attempted(t *testing.T, db *gorm.DB, n int) func() bool {
	return func() bool {
		ds := allDeliveries(t, db)
		return len(ds) == 1 && ds[0].Attempts == n
	}
}

// TestCrashedWorkerIsReclaimed: a delivery left "delivering" by a worker
// that died is sent once its lease has run out.
func TestCrashedWorkerIsReclaimed(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		s, reg := newService(t, db, testRing(t), fastOptions())
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		ids := insertEvents(t, db, 2, 2, 0)
		now := time.Now().UTC().Truncate(time.Millisecond)
		// Crashed: its lease ended a moment ago. Alive: leased for a minute.
		for i, until := range []time.Time{now.Add(-time.Second), now.Add(time.Minute)} {
			d := model.WebhookDelivery{EventID: ids[i], EndpointID: ep.ID, Status: whstore.Delivering.String(), Attempts: 1,
				NextAttemptAt: until, LeaseUntil: &until, LeaseID: "dead-worker"}
			if err := db.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Model(&model.WebhookEvent{}).Where("1 = 1").Update("fanned_out_at", now).Error; err != nil {
			t.Fatal(err)
		}
		run(t, s)
		eventually(t, 20*time.Second, "the reclaimed delivery", func() bool { n, _ := rcv.received(); return n == 1 })
		time.Sleep(200 * time.Millisecond)
		rcv.check()
		if n, _ := rcv.received(); n != 1 || rcv.count(ids[0]) != 1 {
			t.Errorf("received %d events, want only %s (the other is still leased)", n, ids[0])
		}
		if got := counter(t, reg, "realname_webhook_reclaimed_total", nil); got != 1 {
			t.Errorf("reclaimed_total = %v, want 1", got)
		}
	})
}

// TestEndpointDisabledAfterFailingTooLong: an endpoint failing for longer
// than DisableAfter is disabled with a reason, and its queue pauses.
func TestEndpointDisabledAfterFailingTooLong(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		rcv.down.Store(true)
		s, reg := newService(t, db, testRing(t), fastOptions())
		ep, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		since := time.Now().UTC().Add(-6 * 24 * time.Hour).Truncate(time.Millisecond)
		if err := db.Model(&model.WebhookEndpoint{}).Where("id = ?", ep.ID).Update("failing_since", since).Error; err != nil {
			t.Fatal(err)
		}
		insertEvents(t, db, 1, 1, 0)
		run(t, s)
		eventually(t, 20*time.Second, "the endpoint to be disabled", func() bool {
			e, err := s.Endpoint(ctx, ep.ID)
			return err == nil && !e.Enabled
		})
		e, _ := s.Endpoint(ctx, ep.ID)
		if !contains(e.DisabledReason, "disabled automatically") || e.FailingSince == nil {
			t.Errorf("endpoint = %+v, want an automatic reason and the failing time kept", e)
		}
		eventually(t, 10*time.Second, "the delivery to pause", func() bool {
			ds := allDeliveries(t, db)
			return len(ds) == 1 && ds[0].Status == whstore.Paused.String()
		})
		// The counter moves just after the disabling commits (on SQLite
		// after the write lock's pause), so it is waited for too.
		eventually(t, 5*time.Second, "endpoints_disabled_total to be 1", func() bool {
			return counter(t, reg, "realname_webhook_endpoints_disabled_total", nil) == 1
		})
		// Enabling resumes the paused delivery at once.
		rcv.down.Store(false)
		if err := s.EnableEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the paused delivery after enabling", func() bool { n, _ := rcv.received(); return n == 1 })
		rcv.check()
	})
}

// TestRetryAfterIsHonoured: a 429 with Retry-After waits at least that
// long before the next try, though the schedule says 50ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		rcv.answer = func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Retry-After", "120")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		s, _ := newService(t, db, testRing(t), fastOptions())
		_, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		insertEvents(t, db, 1, 1, 0)
		before := time.Now()
		run(t, s)
		eventually(t, 20*time.Second, "the first attempt", attempted(t, db, 1))
		d := onlyDelivery(t, db)
		if d.Status != whstore.Pending.String() || d.LastStatus != http.StatusTooManyRequests {
			t.Fatalf("delivery = %+v, want pending after a 429", d)
		}
		if wait := d.NextAttemptAt.Sub(before); wait < 119*time.Second || wait > 125*time.Second {
			t.Errorf("next attempt in %v, want about 120s", wait)
		}
		rcv.check()
	})
}

// TestRedirectIsRefused: a 3xx is a failed attempt, and its target never
// hears from us.
func TestRedirectIsRefused(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		elsewhere := newReceiver(t)
		rcv := newReceiver(t)
		rcv.answer = func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, elsewhere.URL(), http.StatusTemporaryRedirect)
			return true
		}
		opts := fastOptions()
		opts.Schedule = []time.Duration{time.Hour}
		s, _ := newService(t, db, testRing(t), opts)
		_, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		insertEvents(t, db, 1, 1, 0)
		run(t, s)
		eventually(t, 20*time.Second, "the first attempt", attempted(t, db, 1))
		d := onlyDelivery(t, db)
		if d.Status != whstore.Pending.String() || d.LastStatus != http.StatusTemporaryRedirect || !contains(d.LastError, "redirect refused") {
			t.Errorf("delivery = %+v, want a refused redirect, retried later", d)
		}
		if n := elsewhere.hits.Load(); n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
	})
}

// TestPrivateDestinationsAreRefused: loopback and the metadata address are
// refused at dial time, with or without the endpoint's private-network
// switch (which opens RFC 1918 and ULA only); only the allow list opens them.
func TestPrivateDestinationsAreRefused(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		opts := fastOptions()
		opts.AllowCIDRs = nil
		opts.PrivateNetworks = true
		opts.Schedule = []time.Duration{time.Hour}
		s, _ := newService(t, db, testRing(t), opts)
		var ids []int64
		for _, spec := range []webhook.EndpointSpec{
			{URL: rcv.URL()},
			{URL: "http://169.254.169.254/latest/meta-data/"},
			{URL: rcv.URL(), AllowPrivate: true},
			{URL: "http://169.254.169.254/latest/meta-data/", AllowPrivate: true},
			{URL: "http://[::ffff:127.0.0.1]:" + rcv.port() + "/", AllowPrivate: true},
		} {
			ep, _, err := s.CreateEndpoint(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ep.ID)
		}
		insertEvents(t, db, 1, 1, 0)
		run(t, s)
		eventually(t, 20*time.Second, "every attempt", func() bool {
			var n int64
			db.Model(&model.WebhookDelivery{}).Where("attempts = 1").Count(&n)
			return n == int64(len(ids))
		})
		for _, id := range ids {
			ds, err := s.Deliveries(ctx, webhook.DeliveryFilter{EndpointID: id})
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries of %d: %v %v", id, ds, err)
			}
			_, attempts, err := s.DeliveryAttempts(ctx, ds[0].ID)
			if err != nil || len(attempts) != 1 {
				t.Fatalf("attempts: %v %v", attempts, err)
			}
			if a := attempts[0]; a.StatusCode != 0 || !contains(a.Error, "metadata or reserved address") {
				t.Errorf("endpoint %d: attempt %+v, want refused at dial time", id, a)
			}
		}
		if n := rcv.hits.Load(); n != 0 {
			t.Errorf("the loopback receiver got %d requests", n)
		}
	})
}

// TestAllowListReachesPrivateDestinations: a CIDR allow list opens exactly
// those addresses.
func TestAllowListReachesPrivateDestinations(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	ctx := context.Background()
	rcv := newReceiver(t)
	opts := fastOptions()
	cidrs, err := webhook.ParseCIDRs([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	opts.AllowCIDRs = cidrs
	s, _ := newService(t, db, testRing(t), opts)
	_, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	rcv.setSecrets(secret)
	insertEvents(t, db, 3, 3, 0)
	run(t, s)
	eventually(t, 20*time.Second, "the deliveries", func() bool { n, _ := rcv.received(); return n == 3 })
	rcv.check()
}

// TestSweepNeverPausesAnEnabledEndpoint races the sweep, which pauses the
// pending deliveries of disabled endpoints, against enabling the endpoint:
// whatever the interleaving, once the enable has returned no delivery of
// that endpoint may stay paused.
func TestSweepNeverPausesAnEnabledEndpoint(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testRing(t), fastOptions())
		ep, _, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://receiver.example/hook"})
		if err != nil {
			t.Fatal(err)
		}
		ids := insertEvents(t, db, 20, 20, 0)
		later := time.Now().UTC().Add(time.Hour)
		for _, id := range ids {
			if err := db.Create(&model.WebhookDelivery{EventID: id, EndpointID: ep.ID, Status: whstore.Pending.String(),
				NextAttemptAt: later}).Error; err != nil {
				t.Fatal(err)
			}
		}
		for round := range 60 {
			if err := s.DisableEndpoint(ctx, ep.ID, ""); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := s.Sweep(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			})
			time.Sleep(time.Duration(round%5) * time.Millisecond)
			if err := s.EnableEndpoint(ctx, ep.ID); err != nil {
				t.Fatal(err)
			}
			close(stop)
			wg.Wait()
			if n := deliveryStates(t, db)[whstore.Paused]; n != 0 {
				t.Fatalf("round %d: %d deliveries paused while their endpoint is enabled", round, n)
			}
		}
	})
}
