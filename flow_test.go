package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/redisconn/redistest"
	"realname/service/tracing"
	"realname/testdata/idcard"
)

// lockedBuffer collects the logs of a running service.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// service is a running realname in sandbox mode.
type service struct {
	url, sandbox string
	cfg          config.Config
	db           *gorm.DB
	logs         *lockedBuffer
	clk          *clock.Running // the server's clock; Advance jumps it past a deadline
}

func startService(t *testing.T, b modeltest.Backend, mutate func(*config.Config)) *service {
	t.Helper()
	return startTracedService(t, b, mutate, tracing.Off())
}

// startTracedService is startService with the spans going to tr.
func startTracedService(t *testing.T, b modeltest.Backend, mutate func(*config.Config), tr *tracing.Provider) *service {
	t.Helper()
	db, dsn := modeltest.OpenDSN(t, b, false)
	rdb := redistest.Open(t)
	cfg := config.Default()
	cfg.HTTPAddr = freeAddr(t)
	cfg.SandboxAddr = freeAddr(t)
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = dsn
	cfg.RedisURL = os.Getenv("REALNAME_TEST_REDIS")
	cfg.RedisPrefix = rdb.Prefix
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ProviderTimeout = 3 * time.Second // the timeout fault costs this once
	cfg.LogLevel = "debug"
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	clk := testClock()
	go func() { done <- serve(ctx, cfg, clk, newLogger(cfg.LogLevel, logs), tr) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	s := &service{url: "http://" + cfg.HTTPAddr, sandbox: "http://" + cfg.SandboxAddr, cfg: cfg, logs: logs, clk: clk}
	for i := 0; ; i++ {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		// Up to two minutes: the sandbox decodes every sample card at
		// start, which under -race on a loaded two-core machine took 20 s.
		if i > 2400 {
			t.Fatalf("not ready; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.db = db
	return s
}

func (s *service) login(t *testing.T, who string) string {
	t.Helper()
	var sess struct{ Token string }
	code := who + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if st := call(t, "POST", s.url+"/api/v1/session", "", map[string]string{"code": code}, &sess); st != http.StatusCreated {
		t.Fatalf("login %s: %d", who, st)
	}
	return sess.Token
}

func (s *service) fault(t *testing.T, upstream, mode string) {
	t.Helper()
	if st := call(t, "POST", s.sandbox+"/_sandbox/faults", "", map[string]string{"upstream": upstream, "mode": mode}, nil); st >= 300 {
		t.Fatalf("fault %s %s: %d", upstream, mode, st)
	}
}

func (s *service) calls(t *testing.T) map[string]int {
	t.Helper()
	var out struct{ Calls map[string]int }
	call(t, "GET", s.sandbox+"/_sandbox/calls", "", nil, &out)
	return out.Calls
}

type view struct {
	ID     int64
	State  string
	Reason string
	Front  *struct {
		Name     string
		IDNumber string `json:"id_number"`
	}
	Back *struct {
		ValidTo string `json:"valid_to"`
	}
	Name     string
	IDNumber string `json:"id_number"`
	Missing  []string
	Warnings []string
	Attempts []struct{ Provider, Outcome, Code string }
	Error    struct {
		Code     string
		Attempts []struct{ Provider, Outcome, Code string }
	}
}

// upload posts an image as multipart field "image".
func upload(t *testing.T, url, token string, img []byte, fields map[string]string, out any) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image", "card.png")
	fw.Write(img)
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/verification/idcard", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("upload: %d %s", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

func cardByKey(t *testing.T, key string) idcard.Card {
	t.Helper()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no card %s", key)
	return idcard.Card{}
}

func cardImage(t *testing.T, name string) []byte {
	t.Helper()
	b, err := idcard.Image(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// photos uploads both sides of card and expects recognized.
func photos(t *testing.T, s *service, token string, c idcard.Card) view {
	t.Helper()
	var v view
	consent := map[string]string{"consent_version": "v1", "side": "front"}
	if st := upload(t, s.url, token, cardImage(t, c.Front), consent, &v); st != http.StatusOK || v.State != "draft" {
		t.Fatalf("front of %s: %d %+v", c.Key, st, v)
	}
	if st := upload(t, s.url, token, cardImage(t, c.Back), map[string]string{"side": "back"}, &v); st != http.StatusOK || v.State != "recognized" {
		t.Fatalf("back of %s: %d %+v", c.Key, st, v)
	}
	return v
}

func submit(t *testing.T, s *service, token string, c idcard.Card) (int, view) {
	t.Helper()
	var v view
	st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]string{"name": c.Name, "id_number": c.IDNumber}, &v)
	return st, v
}

func TestVerificationFlowOnEveryBackend(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startService(t, b, nil)
			t.Run("verified", func(t *testing.T) { flowVerified(t, s) })
			t.Run("mismatch", func(t *testing.T) { flowMismatch(t, s) })
			t.Run("vendor_outage_review", func(t *testing.T) { flowOutage(t, s) })
			t.Run("ocr_fallback", func(t *testing.T) { flowOCRFallback(t, s) })
			t.Run("invalid_number_is_free", func(t *testing.T) { flowInvalidNumber(t, s) })
			t.Run("bad_input", func(t *testing.T) { flowBadInput(t, s) })
			t.Run("concurrent_submits", func(t *testing.T) { flowConcurrentSubmits(t, s) })
			t.Run("idempotency", func(t *testing.T) { flowIdempotency(t, s) })
			t.Run("no_clear_pii", func(t *testing.T) { flowNoClearPII(t, s, b) })
			t.Run("confirm_as_read", func(t *testing.T) { flowConfirmAsRead(t, s) })
			t.Run("confirm_correction", func(t *testing.T) { flowConfirmCorrection(t, s) })
			t.Run("expired_card", func(t *testing.T) { flowExpiredCard(t, s) })
			t.Run("minority_name", func(t *testing.T) { flowMinorityName(t, s) })
			t.Run("english", func(t *testing.T) { flowEnglish(t, s) })
		})
	}
}

func flowVerified(t *testing.T, s *service) {
	token := s.login(t, "verified-user")
	c := cardByKey(t, "male")
	var v view
	if st := call(t, "GET", s.url+"/api/v1/verification", token, nil, &v); st != http.StatusOK || v.State != "none" {
		t.Fatalf("before: %d %+v", st, v)
	}
	if st := upload(t, s.url, token, cardImage(t, c.Front), nil, &v); st != http.StatusPreconditionRequired || v.Error.Code != "consent_required" {
		t.Fatalf("no consent: %d %q", st, v.Error.Code)
	}
	photos(t, s, token, c)
	if st := call(t, "GET", s.url+"/api/v1/verification", token, nil, &v); st != http.StatusOK || v.Front == nil ||
		v.Front.IDNumber != c.IDNumber[:4]+"**********"+c.IDNumber[14:] || strings.Contains(v.Front.Name, c.Name) {
		t.Fatalf("front fields not masked in the status as expected: %+v", v.Front)
	}
	st, v := submit(t, s, token, c)
	if st != http.StatusOK || v.State != "verified" {
		t.Fatalf("submit: %d %+v", st, v)
	}
	if st := call(t, "GET", s.url+"/api/v1/verification", token, nil, &v); st != http.StatusOK || v.State != "verified" || strings.Contains(v.IDNumber, c.IDNumber) {
		t.Fatalf("after: %d %+v", st, v)
	}
	// Already verified: a new upload is a wrong-state request.
	if st := upload(t, s.url, token, cardImage(t, c.Front), nil, &v); st != http.StatusConflict || v.Error.Code != "already_verified" {
		t.Fatalf("upload after verified: %d %q", st, v.Error.Code)
	}
	// The same number on a second account goes to review.
	other := s.login(t, "second-account")
	photos(t, s, other, c)
	if st, v := submit(t, s, other, c); st != http.StatusOK || v.State != "review" || v.Reason != "id_already_bound" {
		t.Fatalf("second account: %d %+v", st, v)
	}
}

func flowMismatch(t *testing.T, s *service) {
	token := s.login(t, "mismatch-user")
	c := cardByKey(t, "mismatch")
	photos(t, s, token, c)
	if st, v := submit(t, s, token, c); st != http.StatusOK || v.State != "rejected" || v.Reason != "name_id_mismatch" {
		t.Fatalf("mismatch: %d %+v", st, v)
	}
	// The user asks for their data to be erased.
	if st := call(t, "DELETE", s.url+"/api/v1/verification", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("erase: %d", st)
	}
	var v struct {
		State  string
		Erased bool
		Front  any
	}
	if st := call(t, "GET", s.url+"/api/v1/verification", token, nil, &v); st != http.StatusOK || !v.Erased || v.Front != nil {
		t.Fatalf("after erase: %d %+v", st, v)
	}
	var erased int64
	s.db.Model(&model.WebhookEvent{}).Where("type = ?", "user.data_erased").Count(&erased)
	if erased == 0 {
		t.Fatal("no user.data_erased event for the business systems")
	}
	// A check without photos, on a fresh account.
	other := s.login(t, "checker")
	good := cardByKey(t, "xdigit")
	var cv view
	if st := call(t, "POST", s.url+"/api/v1/verification/check", other, map[string]string{"name": good.Name, "id_number": good.IDNumber, "consent_version": "v1"}, &cv); st != http.StatusOK || cv.State != "verified" {
		t.Fatalf("check: %d %+v", st, cv)
	}
}

func flowOutage(t *testing.T, s *service) {
	token := s.login(t, "outage-user")
	c := cardByKey(t, "female")
	photos(t, s, token, c)
	s.fault(t, "acedata", "error")
	defer s.fault(t, "acedata", "ok")
	st, v := submit(t, s, token, c)
	if st != http.StatusOK || v.State != "review" || v.Reason != "source_unavailable" {
		t.Fatalf("outage: %d %+v", st, v)
	}
	if len(v.Attempts) == 0 || v.Attempts[0].Outcome != "failed" {
		t.Fatalf("attempts do not say why: %+v", v.Attempts)
	}
}

func flowOCRFallback(t *testing.T, s *service) {
	c := cardByKey(t, "longterm")
	for _, mode := range []string{"error", "timeout"} {
		token := s.login(t, "fallback-"+mode)
		s.fault(t, "wechat", mode)
		var v view
		st := upload(t, s.url, token, cardImage(t, c.Front), map[string]string{"consent_version": "v1"}, &v)
		s.fault(t, "wechat", "ok")
		if st != http.StatusOK || v.Front == nil || v.Front.IDNumber != c.IDNumber {
			t.Fatalf("wechat %s: %d %+v", mode, st, v)
		}
		if len(v.Attempts) < 2 || v.Attempts[0].Provider != "wechat" || v.Attempts[0].Outcome != "failed" || v.Attempts[1].Outcome != "ok" {
			t.Fatalf("wechat %s: attempts %+v", mode, v.Attempts)
		}
	}
	token := s.login(t, "fallback-all")
	for _, u := range []string{"wechat", "apizero", "apistore", "acedata"} {
		s.fault(t, u, "error")
	}
	var v view
	st := upload(t, s.url, token, cardImage(t, c.Front), map[string]string{"consent_version": "v1"}, &v)
	for _, u := range []string{"wechat", "apizero", "apistore", "acedata"} {
		s.fault(t, u, "ok")
	}
	if st != http.StatusServiceUnavailable || v.Error.Code != "ocr_unavailable" || len(v.Error.Attempts) != 4 {
		t.Fatalf("all vendors down: %d %+v", st, v.Error)
	}
}

func flowInvalidNumber(t *testing.T, s *service) {
	token := s.login(t, "typo-user")
	c := cardByKey(t, "xdigit")
	photos(t, s, token, c)
	before := s.calls(t)
	bad := c
	bad.IDNumber = c.IDNumber[:17] + "1" // wrong check digit
	var v view
	st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]string{"name": c.Name, "id_number": bad.IDNumber}, &v)
	if st != http.StatusUnprocessableEntity || v.Error.Code != "id_number_invalid" {
		t.Fatalf("bad checksum: %d %q", st, v.Error.Code)
	}
	st = call(t, "POST", s.url+"/api/v1/verification/check", token, map[string]string{"name": c.Name, "id_number": bad.IDNumber}, &v)
	if st != http.StatusUnprocessableEntity || v.Error.Code != "id_number_invalid" {
		t.Fatalf("check with bad checksum: %d %q", st, v.Error.Code)
	}
	after := s.calls(t)
	for k, n := range after {
		if before[k] != n {
			t.Errorf("%s called %d times for an invalid number", k, n-before[k])
		}
	}
}

func flowBadInput(t *testing.T, s *service) {
	token := s.login(t, "bad-input-user")
	consent := map[string]string{"consent_version": "v1"}
	var v view
	for name, tc := range map[string]struct {
		img    []byte
		status int
		code   string
	}{
		"text":      {[]byte("this is not an image at all, just text"), http.StatusUnsupportedMediaType, "unsupported_image"},
		"corrupt":   {cardImage(t, cardByKey(t, "male").Front)[:200], http.StatusUnprocessableEntity, "image_invalid"},
		"bomb":      {idcard.PNGClaiming(60000, 60000), http.StatusUnprocessableEntity, "image_invalid"},
		"deep_bomb": {idcard.PNGClaimingAs(5000, 5000, 16, 6), http.StatusUnprocessableEntity, "image_too_large"},
		"not_card":  {idcard.NotACard(), http.StatusUnprocessableEntity, "not_an_id_card"},
		"too_large": {bytes.Repeat([]byte{0xFF}, int(s.cfg.MaxUploadBytes)+1024), http.StatusRequestEntityTooLarge, "body_too_large"},
	} {
		v = view{}
		if st := upload(t, s.url, token, tc.img, consent, &v); st != tc.status || v.Error.Code != tc.code {
			t.Errorf("%s: %d %q, want %d %q", name, st, v.Error.Code, tc.status, tc.code)
		}
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/verification/submit", strings.NewReader(`{"name":`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", resp.StatusCode)
	}
	v = view{}
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]string{"name": "林浩然", "id_number": "110101199005142138"}, &v); st != http.StatusNotFound && st != http.StatusConflict {
		t.Errorf("submit without photos: %d %q", st, v.Error.Code)
	}
	if st := call(t, "GET", s.url+"/api/v1/verification", "", nil, &v); st != http.StatusUnauthorized {
		t.Errorf("no session: %d", st)
	}
}

func flowConcurrentSubmits(t *testing.T, s *service) {
	token := s.login(t, "racer")
	c := cardByKey(t, "minority")
	v := photos(t, s, token, c)
	var wg sync.WaitGroup
	statuses := make([]int, 5) // the daily limit: losers are refunded
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = submit(t, s, token, c)
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("concurrent submit answered %d", st)
		}
	}
	if ok != 1 {
		t.Fatalf("%d submits succeeded, want exactly 1 (%v)", ok, statuses)
	}
	var decided int64
	s.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", v.ID, "decided").Count(&decided)
	var outbox int64
	s.db.Model(&model.WebhookEvent{}).Where("verification_id = ? AND type <> ?", v.ID, "verification.recognized").Count(&outbox)
	if decided != 1 || outbox != 1 {
		t.Fatalf("decided events %d, outbox rows %d; want 1 and 1", decided, outbox)
	}
}

func flowIdempotency(t *testing.T, s *service) {
	token := s.login(t, "retry-user")
	c := cardByKey(t, "longterm")
	photos(t, s, token, c)
	body, _ := json.Marshal(map[string]string{"name": c.Name, "id_number": c.IDNumber})
	send := func() (int, string, string) {
		req, _ := http.NewRequest("POST", s.url+"/api/v1/verification/submit", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "submit-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), resp.Header.Get("Idempotent-Replayed")
	}
	before := s.calls(t)["acedata POST /acedata/identity/idcard/ocr"]
	st1, b1, _ := send()
	st2, b2, replayed := send()
	after := s.calls(t)["acedata POST /acedata/identity/idcard/ocr"]
	if st1 != http.StatusOK || st2 != st1 || b1 != b2 || replayed != "true" {
		t.Fatalf("replay: %d %d replayed=%q\n%s\n%s", st1, st2, replayed, b1, b2)
	}
	if after-before != 1 {
		t.Fatalf("vendor called %d times for one idempotent submit", after-before)
	}
}

// flowNoClearPII greps the database and the logs of everything above for
// the sample names and ID numbers.
func flowNoClearPII(t *testing.T, s *service, b modeltest.Backend) {
	cards, _ := idcard.Cards()
	var secrets []string
	for _, c := range cards {
		secrets = append(secrets, c.Name, c.IDNumber)
	}
	var haystacks []string
	haystacks = append(haystacks, s.logs.String())
	haystacks = append(haystacks, modeltest.Dump(t, s.db))
	if b.Name == model.DialectSQLite {
		files, _ := filepath.Glob(strings.TrimPrefix(s.cfg.DatabaseURL, "sqlite://") + "*")
		if len(files) == 0 {
			t.Fatal("no SQLite file to grep")
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			haystacks = append(haystacks, string(raw))
		}
	}
	blobs, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "blobs", "*", "*"))
	for _, f := range blobs {
		raw, _ := os.ReadFile(f)
		haystacks = append(haystacks, string(raw))
	}
	for _, h := range haystacks {
		for _, sec := range secrets {
			if strings.Contains(h, sec) {
				t.Errorf("found %s in clear text", sec[:3])
			}
		}
	}
	if !strings.Contains(s.logs.String(), "/api/v1/verification/submit") {
		t.Error("the logs do not cover the flow")
	}
}
