package webhook_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/pii"
	"realname/service/webhook"
)

// testRing is a fresh personal-data key ring.
func testRing(t *testing.T) *pii.KeyRing {
	t.Helper()
	spec, err := pii.GenerateKeySpec()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func quietLog() *slog.Logger {
	if os.Getenv("REALNAME_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fastOptions shrinks every wait so a test runs in seconds, and lets the
// dispatcher reach the tests' receivers on loopback through the allow list
// (REALNAME_WEBHOOK_ALLOW_CIDRS), the one way loopback is ever reachable.
func fastOptions() webhook.Options {
	return webhook.Options{
		AllowCIDRs:      loopbackCIDRs(),
		Schedule:        fastSchedule(),
		Timeout:         2 * time.Second,
		Lease:           10 * time.Second,
		PollInterval:    20 * time.Millisecond,
		BatchSize:       25,
		Workers:         3,
		MetricsInterval: 100 * time.Millisecond,
	}
}

// loopbackCIDRs allows the receivers httptest starts on 127.0.0.1 (or ::1).
func loopbackCIDRs() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// fastSchedule retries after 100 ms, doubling to 1 s, for about 30 s in
// all: an outage in a test on a busy machine ends well before it runs out.
func fastSchedule() []time.Duration {
	out := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for range 30 {
		out = append(out, time.Second)
	}
	return out
}

// newService builds a service with its own registry.
func newService(t *testing.T, db *gorm.DB, ring webhook.Sealer, opts webhook.Options) (*webhook.Service, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := webhook.New(db, ring, quietLog(), reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

// run starts the dispatcher and stops it, waiting, when the test ends.
func run(t *testing.T, s *webhook.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// counter sums a counter (all label values matching labels) in reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// insertEvents writes n outbox rows the way the verification flow does,
// in transactions of batch rows, and returns their ids.
func insertEvents(t *testing.T, db *gorm.DB, n, batch int, pause time.Duration) []string {
	t.Helper()
	types := webhook.EventTypes()
	var ids []string
	for start := 0; start < n; start += batch {
		var rows []model.WebhookEvent
		for i := start; i < min(n, start+batch); i++ {
			vid := int64(i + 1)
			id := "evt_" + rand.Text()
			payload, _ := json.Marshal(map[string]any{"verification_id": vid, "appid": "wx_test", "openid": fmt.Sprintf("o_%d", i),
				"state": "verified", "mode": "photo", "name_masked": "张*", "id_number_masked": "1101**********1234",
				"version": 3, "final": true, "at": time.Now().UTC()})
			rows = append(rows, model.WebhookEvent{ID: id, Type: types[i%len(types)], VerificationID: &vid,
				Payload: string(payload), CreatedAt: time.Now().UTC().Truncate(time.Millisecond)})
			ids = append(ids, id)
		}
		if err := db.Transaction(func(tx *gorm.DB) error { return tx.Create(&rows).Error }); err != nil {
			t.Errorf("insert events: %v", err)
			return ids
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return ids
}

// receiver is a business system: it checks every delivery's signature with
// the Standard Webhooks reference library (not our code), notices one event
// being delivered twice at the same moment, and can be down.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string // every one must verify each delivery
	inFlight map[string]bool
	got      map[string]int // 2xx answers per event id
	problems []string

	down  atomic.Bool
	hits  atomic.Int64
	delay time.Duration
	// answer, when set, replaces the normal 204 while up.
	answer func(w http.ResponseWriter, r *http.Request) bool
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, inFlight: map[string]bool{}, got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hooks/realname" }

// port is the receiver's port, for URLs that spell its address otherwise.
func (r *receiver) port() string {
	_, port, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	return port
}

func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	r.secrets = s
	r.mu.Unlock()
}

func (r *receiver) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	n := r.hits.Add(1)
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		r.problem("read body: %v", err)
		return
	}
	id := req.Header.Get(standardwebhooks.HeaderWebhookID)
	r.mu.Lock()
	secrets := r.secrets
	overlap := r.inFlight[id]
	r.inFlight[id] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inFlight, id)
		r.mu.Unlock()
	}()
	if overlap {
		r.problem("event %s delivered twice at the same moment", id)
	}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			r.problem("secret %q: %v", s, err)
			continue
		}
		if err := wh.Verify(raw, req.Header); err != nil {
			r.problem("event %s: signature does not verify: %v (header %q)", id, err, req.Header.Get(standardwebhooks.HeaderWebhookSignature))
		}
	}
	var env struct {
		ID, Type  string
		CreatedAt time.Time `json:"created_at"`
		Data      map[string]any
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.ID != id || env.Type == "" || env.CreatedAt.IsZero() || env.Data == nil {
		r.problem("event %s: body %q does not match the contract (%v)", id, raw, err)
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if r.down.Load() {
		// Half the outage is a refused answer, half a dropped connection.
		if n%2 == 0 {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
		}
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.answer != nil && r.answer(w, req) {
		return
	}
	r.mu.Lock()
	r.got[id]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// received reports how many distinct events were accepted.
func (r *receiver) received() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.got {
		total += n
	}
	return len(r.got), total
}

// count is how often the event was accepted.
func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

func (r *receiver) check() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		r.t.Error(p)
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveryStates counts deliveries by status.
func deliveryStates(t *testing.T, db *gorm.DB) map[webhook.State]int64 {
	t.Helper()
	var rows []struct {
		Status string
		N      int64
	}
	if err := db.Model(&model.WebhookDelivery{}).Select("status, count(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[webhook.State]int64{}
	for _, r := range rows {
		out[webhook.State(r.Status)] = r.N
	}
	return out
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
