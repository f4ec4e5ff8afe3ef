package webhook_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/webhook"
)

// TestDrainStatementsPerBatch counts what the drain sends to the database:
// one fan-out pass of 40 events, one batch of 20 deliveries all answered
// 2xx, and one where every other answer is a 500. The drain's throughput
// is these statements (issue 24), so a change that adds one shows here.
func TestDrainStatementsPerBatch(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		opts := fastOptions()
		opts.BatchSize, opts.FanoutBatch = 20, 40
		// No loop runs here; the long poll keeps the endpoints cached (5 s)
		// from the first batch to the ones counted.
		opts.PollInterval = time.Hour
		s, _ := newService(t, db, testRing(t), opts)
		rcv := newReceiver(t)
		_, secret, err := s.CreateEndpoint(ctx, webhook.EndpointSpec{URL: rcv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		cost := func(what string, want int, fn func() (int, error)) model.Counts {
			t.Helper()
			before := model.StatementCounts(db)
			n, err := fn()
			after := model.StatementCounts(db)
			if err != nil || n != want {
				t.Fatalf("%s: %d, %v; want %d", what, n, err, want)
			}
			return model.Counts{Statements: after.Statements - before.Statements, Commits: after.Commits - before.Commits}
		}
		insertEvents(t, db, 60, 60, 0)
		fan := cost("fan-out", 40, func() (int, error) { return s.FanOut(ctx) })
		cost("first batch (loads the endpoints)", 20, func() (int, error) { return s.Work(ctx) })
		ok := cost("batch of successes", 20, func() (int, error) { return s.Work(ctx) })
		cost("fan-out", 20, func() (int, error) { return s.FanOut(ctx) })
		var n atomic.Int64
		rcv.answer = func(w http.ResponseWriter, _ *http.Request) bool {
			if n.Add(1)%2 == 0 {
				http.Error(w, "no", http.StatusInternalServerError)
				return true
			}
			return false
		}
		mixed := cost("batch of 10 successes and 10 failures", 20, func() (int, error) { return s.Work(ctx) })
		t.Logf("%s: fan-out of 40 %+v; batch of 20 successes %+v; batch of 10+10 %+v", db.Name(), fan, ok, mixed)
		// Fan-out: the events, the endpoints, one INSERT of the deliveries,
		// the counter's lock, the numbering UPDATE (which marks them too),
		// the counter. A batch: the claim's SELECT and UPDATE, the events,
		// one INSERT of the attempts, one UPDATE per status code of the
		// successes and one per failure. PostgreSQL claims in one statement
		// (UPDATE … RETURNING, joined to the events: two fewer) and adds the
		// SET LOCAL of each of its two transactions.
		local := int64(0)
		if db.Name() == model.DialectPostgres {
			local = 2 - 2
		}
		for _, c := range []struct {
			what      string
			got, want model.Counts
		}{
			{"fan-out", fan, model.Counts{Statements: 6, Commits: 1}},
			{"batch of successes", ok, model.Counts{Statements: 5 + local, Commits: 2}},
			{"mixed batch", mixed, model.Counts{Statements: 15 + local, Commits: 2}},
		} {
			if c.got != c.want {
				t.Errorf("%s: %+v, want %+v", c.what, c.got, c.want)
			}
		}
	})
}
