package webhook_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/redisconn"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/service/wake"
	"realname/service/webhook"
)

// asleep is a poll interval no test outlasts: only a wake-up can deliver.
const asleep = time.Hour

// promptly is how soon a woken dispatcher must deliver, with room for a
// machine shared with other test runs.
const promptly = 3 * time.Second

// instance is one server's webhook side: its own connection pool, wake-up
// hub, store and dispatcher.
type instance struct {
	db    *gorm.DB
	hub   *wake.Hub
	store *store.Store
	hooks *webhook.Service
	reg   *prometheus.Registry
}

// newInstance opens an instance over dsn whose hub shares rdb's prefix.
// With dispatch, its dispatcher runs (poll an hour) until the test ends;
// its hub always runs.
func newInstance(t *testing.T, dsn string, rdb *redisconn.Conn, ring webhook.Sealer, dispatch bool) *instance {
	t.Helper()
	return newPolling(t, dsn, rdb, ring, dispatch, asleep)
}

// newPolling is newInstance with its dispatcher polling every poll.
func newPolling(t *testing.T, dsn string, rdb *redisconn.Conn, ring webhook.Sealer, dispatch bool, poll time.Duration) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := model.Open(ctx, dsn, "", quietLog(), clock.System{}.Now)
	if err != nil {
		t.Fatal(err)
	}
	hub := wake.New(wake.Options{Dialect: db.Name(), PostgresDSN: dsn, Redis: rdb.Client, Prefix: rdb.Prefix, Log: quietLog()})
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = model.Close(db) })
	opts := fastOptions()
	opts.PollInterval = poll
	hooks, reg := newService(t, db, ring, opts)
	hooks.WakeOn(hub.Line(wake.Outbox), hub.Line(wake.Deliveries))
	hooks.FeedOn(hub.Line(wake.Feed))
	in := &instance{db: db, hub: hub, hooks: hooks, reg: reg,
		store: store.New(db, clock.System{}, quietLog()).SignalOutbox(hub.Line(wake.Outbox))}
	if dispatch {
		run(t, hooks)
		// Let the first passes of the loops (and the hub's catch-up after
		// it connects) go by, so what follows is delivered by a wake-up.
		time.Sleep(500 * time.Millisecond)
	}
	return in
}

// emit writes one outbox event the way the flow does, through the store:
// a user's erasure (its user.data_erased event) in one transaction.
func (in *instance) emit(t *testing.T) {
	t.Helper()
	u := model.User{AppID: "wx_test", OpenID: "o_" + rand.Text()}
	if err := in.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	e, err := in.store.Erase(context.Background(), u.ID, "user:test")
	if err != nil || !e.Emitted {
		t.Fatalf("erase: %+v, %v", e, err)
	}
}

// delivered waits until the receiver has accepted n distinct events.
func delivered(t *testing.T, rcv *receiver, n int, within time.Duration, what string) {
	t.Helper()
	eventually(t, within, what, func() bool { distinct, _ := rcv.received(); return distinct >= n })
	rcv.check()
}

// endpointFor subscribes rcv through in.
func endpointFor(t *testing.T, in *instance, rcv *receiver) {
	t.Helper()
	_, secret, err := in.hooks.CreateEndpoint(context.Background(), webhook.EndpointSpec{URL: rcv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	rcv.setSecrets(secret)
}

// TestCommitWakesTheDispatcher: with the poll an hour away, events still
// arrive within moments of their commit, on every backend.
func TestCommitWakesTheDispatcher(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			_, dsn := modeltest.OpenDSN(t, b, true)
			rcv := newReceiver(t)
			in := newInstance(t, dsn, redistest.Open(t), testRing(t), false)
			endpointFor(t, in, rcv)
			run(t, in.hooks)
			time.Sleep(500 * time.Millisecond) // the loops' first passes find nothing
			for i := 1; i <= 3; i++ {
				start := time.Now()
				in.emit(t)
				delivered(t, rcv, i, promptly, "a woken dispatcher to deliver the event")
				t.Logf("%s: event %d delivered %v after its commit", b.Name, i, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// TestOtherInstanceWakes: an event committed by one instance is fanned out
// and delivered at once by another's dispatcher, woken by PostgreSQL
// NOTIFY or, on MariaDB, by Redis.
func TestOtherInstanceWakes(t *testing.T) {
	for _, b := range modeltest.Backends() {
		if b.Name == model.DialectSQLite {
			continue // one instance only
		}
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			_, dsn := modeltest.OpenDSN(t, b, true)
			rdb, ring, rcv := redistest.Open(t), testRing(t), newReceiver(t)
			writer := newInstance(t, dsn, rdb, ring, false) // its dispatcher stays off
			endpointFor(t, writer, rcv)
			other := newInstance(t, dsn, rdb, ring, true)
			for i := 1; i <= 3; i++ {
				start := time.Now()
				writer.emit(t)
				delivered(t, rcv, i, promptly, "the other instance to deliver the event")
				t.Logf("%s: event %d delivered by the other instance %v after its commit", b.Name, i, time.Since(start).Round(time.Millisecond))
			}
			// The worker counts a delivery when it records the answer, just
			// after the receiver has it: wait for that record.
			succeeded := func() float64 {
				return counter(t, other.reg, "realname_webhook_deliveries_total", map[string]string{"outcome": "succeeded"})
			}
			eventually(t, promptly, "the other instance to record its deliveries", func() bool { return succeeded() >= 3 })
			if n := succeeded(); n != 3 {
				t.Errorf("the other instance delivered %v, want 3", n)
			}
		})
	}
}

// TestListenerCutLosesNothing: the PostgreSQL listening connections are
// killed just before a commit; the event still arrives (the reconnected
// listener looks for what it may have missed), the listeners come back on
// new connections, and wake-ups reach them again.
func TestListenerCutLosesNothing(t *testing.T) {
	var pg *modeltest.Backend
	for _, b := range modeltest.Backends() {
		if b.Name == model.DialectPostgres {
			pg = &b
		}
	}
	if pg == nil {
		t.Skip("REALNAME_TEST_POSTGRES not set")
	}
	_, dsn := modeltest.OpenDSN(t, *pg, true)
	rdb, ring, rcv := redistest.Open(t), testRing(t), newReceiver(t)
	writer := newInstance(t, dsn, rdb, ring, false)
	endpointFor(t, writer, rcv)
	newInstance(t, dsn, rdb, ring, true)
	listeners := func() map[int64]bool {
		var pids []int64
		if err := writer.db.Raw("SELECT pid FROM pg_stat_activity WHERE application_name = 'realname-wake' AND query LIKE ?",
			"%"+rdb.Prefix+"webhook_wake%").Scan(&pids).Error; err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for _, p := range pids {
			out[p] = true
		}
		return out
	}
	var cut map[int64]bool
	eventually(t, 5*time.Second, "both instances to listen", func() bool { cut = listeners(); return len(cut) == 2 })
	for pid := range cut {
		if err := writer.db.Exec("SELECT pg_terminate_backend(?)", pid).Error; err != nil {
			t.Fatal(err)
		}
	}
	writer.emit(t)
	delivered(t, rcv, 1, 5*time.Second, "the event committed while the listeners were cut")
	eventually(t, 10*time.Second, "the listeners to reconnect", func() bool {
		now := listeners()
		for pid := range now {
			if cut[pid] {
				return false
			}
		}
		return len(now) == 2
	})
	start := time.Now()
	writer.emit(t)
	delivered(t, rcv, 2, promptly, "the reconnected listener to be woken")
	t.Logf("after the reconnect, delivered %v after the commit", time.Since(start).Round(time.Millisecond))
}

// TestRedisDownThePollDelivers: on MariaDB and SQLite, with Redis
// unreachable, an event written by one instance still reaches the other
// through its poll, and the hubs (failing to subscribe and publish) stop
// with their context.
func TestRedisDownThePollDelivers(t *testing.T) {
	for _, b := range modeltest.Backends() {
		if b.Name == model.DialectPostgres {
			continue // wake-ups go through the database there
		}
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			_, dsn := modeltest.OpenDSN(t, b, true)
			ring, rcv := testRing(t), newReceiver(t)
			// Nothing listens on port 1: every publish and subscribe fails.
			dead := &redisconn.Conn{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), Prefix: "test:" + rand.Text() + ":"}
			t.Cleanup(func() { _ = dead.Client.Close() })
			writer := newPolling(t, dsn, dead, ring, false, asleep)
			endpointFor(t, writer, rcv)
			newPolling(t, dsn, dead, ring, true, 300*time.Millisecond)
			writer.emit(t)
			delivered(t, rcv, 1, 5*time.Second, "the other instance's poll to deliver the event")
		})
	}
}
