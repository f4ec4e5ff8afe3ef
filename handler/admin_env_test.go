package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/admin"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/redisconn"
	"realname/service/redisconn/redistest"
	"realname/service/review"
	"realname/service/store"
	"realname/service/store/storetest"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/webhook"
	"realname/web"
)

const testPassword = "correct horse battery"

// adminEnv is the whole service with the admin pages over a real database
// and Redis; flow is the real verification flow over the sandbox fakes
// when built withFlow.
type adminEnv struct {
	*httptest.Server
	engine   *gin.Engine
	db       *gorm.DB
	dsn      string // the database's URL (the file behind sqlite://)
	ring     *pii.KeyRing
	blobs    *pii.FileBlobs
	flow     *verify.Service
	accounts *admin.Service
	hooks    *fakeWebhooks
	admins   map[string]int64
	redis    *redisconn.Conn
}

func newAdminEnv(t *testing.T, withFlow bool, hooks WebhookAdmin) *adminEnv {
	t.Helper()
	return newAdminEnvOn(t, modeltest.Backends()[0], withFlow, hooks, TLSPolicy{})
}

// newAdminEnvTLS is newAdminEnv under a TLS policy (production, a proxy).
func newAdminEnvTLS(t *testing.T, withFlow bool, hooks WebhookAdmin, policy TLSPolicy) *adminEnv {
	t.Helper()
	return newAdminEnvOn(t, modeltest.Backends()[0], withFlow, hooks, policy)
}

// newAdminEnvOn is newAdminEnv on backend b under a TLS policy.
func newAdminEnvOn(t *testing.T, b modeltest.Backend, withFlow bool, hooks WebhookAdmin, policy TLSPolicy) *adminEnv {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	db, dsn := modeltest.OpenDSN(t, b, true)
	conn := redistest.Open(t)
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := pii.NewFileBlobs(t.TempDir(), ring)
	if err != nil {
		t.Fatal(err)
	}
	var o verify.OCR
	var check verify.IDCheck
	if withFlow {
		cards, err := sandbox.LoadCards()
		if err != nil {
			t.Fatal(err)
		}
		sb := sandbox.New(quiet)
		sandbox.NewApizero(cards, "").Mount(sb)
		sandbox.NewAcedata(cards, "").Mount(sb)
		if err := sb.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sb.Close(context.Background()) })
		reg := prometheus.NewRegistry()
		az := ocr.NewApizero(sb.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, nil)
		ace, err := idcheck.NewAcedata(sb.URL()+"/acedata", sandbox.SandboxAcedataKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		o = ocr.NewChain([]ocr.Provider{az}, ocr.ChainOptions{}, quiet, reg)
		check = idcheck.NewChain(idcheck.ChainDeps{Providers: []idcheck.Provider{ace}, Redis: conn.Client, Prefix: conn.Prefix, Hash: ring,
			Log: quiet, Registry: reg})
	}
	st := store.New(db, clock.System{}, quiet)
	flow := verify.New(verify.Deps{Store: st, Redis: conn.Client, Prefix: conn.Prefix, OCR: o, Intake: ocr.NewIntake(ocr.IntakeLimits{}, ocr.NewBudget(0, time.Second)),
		Check: check, Crypto: ring, Photos: st.StagedPhotos(blobs), Policy: verify.DefaultPolicy(), Clock: clock.System{}, Log: quiet})
	accounts, err := admin.New(db, st, conn.Client, conn.Prefix, admin.Options{BcryptCost: bcrypt.MinCost}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Log: quiet, Registry: prometheus.NewRegistry(), Version: "test", MaxBodyBytes: 64 << 10,
		MaxUploadBytes: 1 << 20, RequestTimeout: 10 * time.Second, Templates: templates, Static: web.Static(), TLS: policy}
	reviews := review.New(review.Deps{Reads: db, Crypto: ring, Blobs: blobs, Store: st, Log: quiet}, review.Options{})
	keys := apikey.New(apikey.Deps{DB: db, Trail: st, PerSecond: 1, Apps: []string{"wxtest"}, Clock: clock.System{}, Log: quiet})
	a := AdminDeps{Accounts: accounts, Review: reviews,
		Webhooks: hooks, Tokens: fakeTokens{}, CSRFKey: ring.Hash("admin_csrf", nil), APIKeys: keys}
	d.Admin = &a
	e := New(d)
	env := &adminEnv{Server: httptest.NewServer(e), engine: e, db: db, dsn: dsn, ring: ring, blobs: blobs, flow: flow, redis: conn,
		accounts: accounts, admins: map[string]int64{}}
	env.hooks, _ = hooks.(*fakeWebhooks)
	t.Cleanup(env.Close)
	for name, role := range map[string]string{"ann": admin.RoleReviewer, "bob": admin.RoleReviewer, "root": admin.RoleAdmin} {
		u, err := accounts.Create(context.Background(), name, testPassword, role, admin.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		env.admins[name] = u.ID
	}
	return env
}

// seedCase inserts a case in review as the flow leaves it, with fields
// given by the test (sealed as verify seals them).
func (e *adminEnv) seedCase(t *testing.T, openid, name, number string, front, back ocr.Fields, reason string) int64 {
	t.Helper()
	u := model.User{AppID: "wxtest", OpenID: openid}
	if err := e.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	v := model.Verification{UserID: u.ID, State: store.Review, Version: 3, Mode: "photo", Reason: reason, Provider: "apizero",
		NameMasked: pii.MaskName(name), IDNumberMasked: pii.MaskIDNumber(number), IDNumberHash: e.ring.Hash(pii.PurposeIDNumber, []byte(number))}
	if err := e.db.Create(&v).Error; err != nil {
		t.Fatal(err)
	}
	seal := func(col string, b []byte) []byte {
		out, _ := e.ring.Encrypt(b, verify.FieldAAD(col, v.ID))
		return out
	}
	card, _ := json.Marshal(map[string]any{"front": front, "back": back, "front_provider": "apizero", "warnings": []string{`<b>"warn"</b>`}})
	err := e.db.Model(&model.Verification{}).Where("id = ?", v.ID).Select("name_enc", "id_number_enc", "fields_enc").
		UpdateColumns(&model.Verification{NameEnc: seal("name_enc", []byte(name)), IDNumberEnc: seal("id_number_enc", []byte(number)),
			FieldsEnc: seal("fields_enc", card)}).Error
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(front)
	sealed, _ := e.ring.Encrypt(raw, verify.AttemptAAD(v.ID))
	e.db.Create(&model.ProviderAttempt{VerificationID: v.ID, Kind: "ocr", Provider: "apizero", Outcome: "ok", LatencyMS: 90, FieldsEnc: sealed, CreatedAt: time.Now()})
	vid := v.ID
	storetest.SeedEvent(t, e.db, model.VerificationEvent{VerificationID: &vid, Type: "decided",
		FromState: store.Checking, ToState: store.Review, Actor: fmt.Sprintf("user:%d", u.ID), Data: `{"note":"</code><script>alert(3)</script>"}`})
	return v.ID
}

// client is a browser stand-in: a cookie jar, no automatic redirects.
type client struct {
	t    *testing.T
	http *http.Client
	base string
	csrf string // the last CSRF token seen on a page
	lang string // Accept-Language; the existing assertions read English
}

func (e *adminEnv) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.URL, lang: "en", http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="gorilla\.csrf\.Token" value="([^"]+)"`)

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) { return c.do(http.MethodGet, path, nil) }

// post sends a form with the CSRF token of the last page seen.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if c.csrf == "" {
		c.get("/admin/login")
	}
	form.Set("gorilla.csrf.Token", c.csrf)
	return c.do(http.MethodPost, path, form)
}

func (c *client) login(user string) {
	c.t.Helper()
	resp, body := c.post("/admin/login", url.Values{"username": {user}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		c.t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
	c.get("/admin/") // a fresh token for the next form
}

// fakeWebhooks is an in-memory WebhookAdmin.
type fakeWebhooks struct {
	mu        sync.Mutex
	endpoints []webhook.Endpoint
	replayed  []int64
	pinged    []int64
}

func (f *fakeWebhooks) Endpoints(context.Context) ([]webhook.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]webhook.Endpoint(nil), f.endpoints...), nil
}

func (f *fakeWebhooks) CreateEndpoint(_ context.Context, spec webhook.EndpointSpec) (webhook.Endpoint, string, error) {
	if strings.HasPrefix(spec.URL, "ftp:") {
		return webhook.Endpoint{}, "", &webhook.InvalidError{Code: "url_scheme", Detail: "the URL must start with http:// or https://"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := webhook.Endpoint{ID: int64(len(f.endpoints) + 1), URL: spec.URL, EventTypes: spec.EventTypes, Enabled: true, AllowPrivate: spec.AllowPrivate}
	f.endpoints = append(f.endpoints, ep)
	return ep, "whsec_new_secret_1", nil
}

func (f *fakeWebhooks) set(id int64, fn func(*webhook.Endpoint)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.endpoints {
		if f.endpoints[i].ID == id {
			fn(&f.endpoints[i])
			return nil
		}
	}
	return fmt.Errorf("no endpoint %d", id)
}

func (f *fakeWebhooks) SetAllowPrivate(_ context.Context, id int64, allow bool) error {
	return f.set(id, func(e *webhook.Endpoint) { e.AllowPrivate = allow })
}

func (f *fakeWebhooks) Ping(_ context.Context, id int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pinged = append(f.pinged, id)
	return "evt_ping", nil
}

func (f *fakeWebhooks) DisableEndpoint(_ context.Context, id int64, reason string) error {
	return f.set(id, func(e *webhook.Endpoint) { e.Enabled, e.DisabledReason = false, reason })
}

func (f *fakeWebhooks) EnableEndpoint(_ context.Context, id int64) error {
	return f.set(id, func(e *webhook.Endpoint) { e.Enabled = true })
}

func (f *fakeWebhooks) RotateSecret(_ context.Context, id int64) (string, error) {
	return "whsec_rotated_2", f.set(id, func(*webhook.Endpoint) {})
}

var fakeDelivery = webhook.Delivery{ID: 7, EventID: "evt_1", EndpointID: 1, Status: "failed", Attempts: 5, LastStatus: 500}

func (f *fakeWebhooks) Deliveries(context.Context, webhook.DeliveryFilter) ([]webhook.Delivery, error) {
	return []webhook.Delivery{fakeDelivery}, nil
}

func (f *fakeWebhooks) DeliveryAttempts(context.Context, int64) (webhook.Delivery, []webhook.Attempt, error) {
	return fakeDelivery, []webhook.Attempt{{ID: 1, StatusCode: 500, Response: "<html>oops</html>"}}, nil
}

func (f *fakeWebhooks) Replay(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replayed = append(f.replayed, id)
	return nil
}

func (f *fakeWebhooks) ReplaySince(context.Context, int64, time.Time) (webhook.ReplayResult, error) {
	return webhook.ReplayResult{Requeued: 2, Backfilled: 1}, nil
}

type fakeTokens struct{}

func (fakeTokens) Status() []token.Status {
	return []token.Status{{AppID: "wxtest", Cached: true, ExpiresAt: time.Now().Add(time.Hour), RefreshAt: time.Now().Add(50 * time.Minute)}}
}

// claimAndReveal claims a case in review and reveals it.
func (c *client) claimAndReveal(id int64) string {
	c.t.Helper()
	if resp, _ := c.post(caseURL(id)+"/claim", nil); resp.Header.Get("Location") != caseURL(id)+"?done=claimed" {
		c.t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c.reveal(id)
}

// reveal reveals a case (POST-redirect-GET) and returns the page shown.
func (c *client) reveal(id int64) string {
	c.t.Helper()
	resp, _ := c.post(caseURL(id)+"/reveal", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != caseURL(id)+"#photos" {
		c.t.Fatalf("reveal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := c.get(caseURL(id))
	return body
}

// state is case id's state in the database.
func (e *adminEnv) state(t *testing.T, id int64) string {
	t.Helper()
	var v model.Verification
	if err := e.db.Take(&v, id).Error; err != nil {
		t.Fatal(err)
	}
	return string(v.State)
}

// PrivateNetworks offers the switch, as in development.
func (f *fakeWebhooks) PrivateNetworks() bool { return true }
