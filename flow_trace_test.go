package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
	"realname/service/tracing"
	spankeys "realname/service/tracing/spans"
)

// inbound is the traceparent a gateway in front of us would send.
const (
	inboundTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	inboundParent = "00f067aa0ba902b7"
	inbound       = "00-" + inboundTrace + "-" + inboundParent + "-01"
)

// hookCall is one POST the business system's receiver got.
type hookCall struct {
	traceparent, id string
	body            []byte
}

// TestTraceOfAFullFlow records the spans of a login, both uploads, a submit
// (sent with a gateway's traceparent), a server API read by openid and the
// webhook delivery of the verdict, with the SDK's in-memory exporter behind
// the same scrubbing as the OTLP one, and checks the span names, who is
// whose child, the link from the delivery back to the step that wrote its
// event, and that nothing personal is in any span.
func TestTraceOfAFullFlow(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.WithExporter(exp, "test")
	hooks := make(chan hookCall, 32)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hooks <- hookCall{traceparent: r.Header.Get("traceparent"), id: r.Header.Get("webhook-id"), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	s := startTracedService(t, modeltest.Backend{Name: model.DialectSQLite}, func(cfg *config.Config) {
		cfg.Webhook.URL = recv.URL + "/hooks/realname?token=query-secret-4711"
		cfg.Webhook.Secret = "whsec_" + base64.StdEncoding.EncodeToString(secret)
		cfg.Webhook.AllowCIDRs = []string{"127.0.0.1/32"}
	}, tr)

	token := s.login(t, "traced-user")
	c := cardByKey(t, "male")
	photos(t, s, token, c)
	req, _ := http.NewRequest("POST", s.url+"/api/v1/verification/submit", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", inbound)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"state":"verified"`) {
		t.Fatalf("submit: %d %s", resp.StatusCode, raw)
	}
	var u model.User
	if err := s.db.Where("app_id = ?", sandbox.SandboxAppID).Order("id DESC").Take(&u).Error; err != nil || u.OpenID == "" {
		t.Fatalf("the user: %v %+v", err, u)
	}
	// A business system reads the user by openid: the raw path holds it.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys := apikey.New(apikey.Deps{DB: s.db, Trail: store.New(s.db, clock.System{}, quiet), PerSecond: 1, Apps: []string{sandbox.SandboxAppID}, Clock: clock.System{}, Log: quiet})
	_, key, err := keys.Create(t.Context(), "crm", apikey.Scopes(), "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if st, raw := serverCall(t, "GET", s.url+"/server/v1/users/"+u.OpenID+"/verification?name="+c.Name, key, nil); st != http.StatusOK {
		t.Fatalf("server API: %d %s", st, raw)
	}

	verdict := waitForHook(t, hooks, u.OpenID)
	spans := waitForSpan(t, exp, func(sp tracetest.SpanStub) bool {
		return sp.Name == "webhook.deliver" && attr(sp, spankeys.KeyEventID) == verdict.id
	})
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range spans {
		byID[sp.SpanContext.SpanID()] = sp
	}

	// Every kind of span is there, requests named by their route.
	for _, name := range []string{"POST /api/v1/session", "POST /api/v1/verification/idcard", "POST /api/v1/verification/submit",
		"GET /server/v1/users/:openid/verification", "wechat.code2session", "wechat.token", "ocr.recognize", "idcheck.check",
		"store.step", "webhook.fanout", "webhook.deliver"} {
		if len(named(spans, name)) == 0 {
			t.Errorf("no %q span; got %v", name, names(spans))
		}
	}
	submit := only(t, named(spans, "POST /api/v1/verification/submit"))
	// The gateway's trace is continued: same trace, its span as the parent.
	if submit.SpanContext.TraceID().String() != inboundTrace || submit.Parent.SpanID().String() != inboundParent || !submit.Parent.IsRemote() {
		t.Errorf("submit span %s (parent %s) does not continue %s", submit.SpanContext.TraceID(), submit.Parent.SpanID(), inbound)
	}
	if !strings.Contains(s.logs.String(), `"trace_id":"`+inboundTrace+`"`) {
		t.Error("no log line carries the submit's trace_id")
	}
	// Vendor calls and store steps are children of the request that made them.
	for _, sp := range named(spans, "ocr.recognize") {
		if up := ancestor(byID, sp, "POST /api/v1/verification/idcard"); up == nil || attr(sp, spankeys.KeyProvider) == "" || attr(sp, spankeys.KeyOutcome) == "" {
			t.Errorf("ocr span %v not under an upload, or without provider/outcome", sp.Attributes)
		}
	}
	check := only(t, named(spans, "idcheck.check"))
	if ancestor(byID, check, submit.Name) == nil || attr(check, spankeys.KeyOutcome) != "match" {
		t.Errorf("idcheck span %v not under the submit, or not a match", check.Attributes)
	}
	var decided *tracetest.SpanStub
	for _, sp := range named(spans, "store.step") {
		if ancestor(byID, sp, "POST /") == nil {
			t.Errorf("store step %v under no request", sp.Attributes)
		}
		if sp.Parent.SpanID() == submit.SpanContext.SpanID() && attr(sp, spankeys.KeyToState) == "verified" {
			decided = &sp
		}
	}
	if decided == nil || attr(*decided, spankeys.KeyAttempts) != "1" || attr(*decided, spankeys.KeyOutcome) != "ok" || attr(*decided, spankeys.KeyStep) == "" {
		t.Fatalf("no store step of the submit deciding verified with its attempts and outcome: %+v", decided)
	}
	clientSpans := 0
	for _, sp := range spans {
		switch sp.InstrumentationScope.Name {
		case "github.com/redis/go-redis/extra/redisotel":
			if !sp.Parent.IsValid() {
				t.Errorf("redis span %q without a parent", sp.Name)
			}
		case "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp":
			clientSpans++
			if ancestor(byID, sp, "ocr.recognize") == nil && ancestor(byID, sp, "idcheck.check") == nil {
				t.Errorf("vendor HTTP span %q under no vendor call", sp.Name)
			}
		}
	}
	if clientSpans == 0 {
		t.Error("no vendor HTTP client span")
	}
	// The delivery is its own trace, linked to the step that wrote the
	// event, and the receiver got the delivery span as its parent.
	deliver := only(t, filter(spans, func(sp tracetest.SpanStub) bool {
		return sp.Name == "webhook.deliver" && attr(sp, spankeys.KeyEventID) == verdict.id
	}))
	if len(deliver.Links) != 1 || deliver.Links[0].SpanContext.SpanID() != decided.SpanContext.SpanID() {
		t.Errorf("delivery links %+v, want the deciding step %s", deliver.Links, decided.SpanContext.SpanID())
	}
	if want := "00-" + deliver.SpanContext.TraceID().String() + "-" + deliver.SpanContext.SpanID().String() + "-01"; verdict.traceparent != want {
		t.Errorf("receiver got traceparent %q, want %q", verdict.traceparent, want)
	}
	if attr(deliver, spankeys.KeyStatusCode) != "204" || attr(deliver, spankeys.KeyAttempt) != "1" || attr(deliver, spankeys.KeyEventType) != "verification.verified" {
		t.Errorf("delivery attributes %v", deliver.Attributes)
	}

	// Nothing personal, nor a secret, in any span.
	if !strings.Contains(string(verdict.body), u.OpenID) {
		t.Fatal("the payload should name the openid, or this scan proves little")
	}
	secrets := []string{c.Name, c.IDNumber, strings.ToLower(c.IDNumber), u.OpenID, token, key, "query-secret-4711"}
	if u.UnionID != "" {
		secrets = append(secrets, u.UnionID)
	}
	for _, sp := range spans {
		for _, leak := range leaks(sp, secrets) {
			t.Errorf("span %q: %s", sp.Name, leak)
		}
	}
}

func waitForHook(t *testing.T, hooks <-chan hookCall, openid string) hookCall {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case h := <-hooks:
			var p struct{ OpenID, State string }
			if json.Unmarshal(h.body, &p) == nil && p.State == "verified" && p.OpenID == openid {
				return h
			}
			var env struct {
				Data struct{ OpenID, State string }
			}
			if json.Unmarshal(h.body, &env) == nil && env.Data.State == "verified" && env.Data.OpenID == openid {
				return h
			}
		case <-deadline:
			t.Fatal("no verified event reached the receiver")
		}
	}
}

func waitForSpan(t *testing.T, exp *tracetest.InMemoryExporter, match func(tracetest.SpanStub) bool) tracetest.SpanStubs {
	t.Helper()
	for range 400 {
		spans := exp.GetSpans()
		if len(filter(spans, match)) > 0 {
			return spans
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("the span never ended; got %v", names(exp.GetSpans()))
	return nil
}
