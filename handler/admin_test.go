package handler

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"realname/model"
	"realname/service/ocr"
	"realname/service/store"
	"realname/service/verify"
)

// concrete fills a route's parameters.
func concrete(path string) string {
	r := strings.NewReplacer(":id", "1", ":side", "front", "*filepath", "x")
	return r.Replace(path)
}

// TestAdminRoutesRefuseAnonymous walks the router: every /admin route but
// the login page sends an anonymous caller to sign in or refuses it.
func TestAdminRoutesRefuseAnonymous(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	env.seedCase(t, "o-anon", "张三", "11010519491231002X", ocr.Fields{Name: "张三"}, ocr.Fields{}, verify.ReasonNoRecord)
	walked := 0
	for _, r := range env.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/admin") || r.Path == "/admin/login" {
			continue
		}
		walked++
		c := env.client(t)
		var resp *http.Response
		if r.Method == http.MethodPost {
			// With a valid CSRF token, so the session check itself is tested.
			resp, _ = c.post(concrete(r.Path), url.Values{"reason": {"suspected_fraud"}})
		} else {
			resp, _ = c.do(r.Method, concrete(r.Path), nil)
		}
		switch {
		case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/admin/login"):
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		default:
			t.Errorf("anonymous %s %s: %d %s", r.Method, r.Path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if walked < 25 {
		t.Fatalf("only %d admin routes walked", walked)
	}
	// And the page request is redirected to the login page, which has the form.
	c := env.client(t)
	resp, _ := c.get("/admin/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login?next=%2Fadmin%2F" {
		t.Fatalf("GET /admin/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/admin/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="username"`) || !strings.Contains(body, `name="password"`) ||
		!strings.Contains(body, `type="hidden" name="gorilla.csrf.Token"`) {
		t.Fatalf("login page: %d %s", resp.StatusCode, body)
	}
}

// TestAdminFormsRequireCSRF: every POST under /admin, the login form
// included, refuses a request without the CSRF token.
func TestAdminFormsRequireCSRF(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	id := env.seedCase(t, "o-csrf", "张三", "11010519491231002X", ocr.Fields{Name: "张三"}, ocr.Fields{}, verify.ReasonNoRecord)
	c := env.client(t)
	c.login("root")
	posts := 0
	for _, r := range env.engine.Routes() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/admin") {
			continue
		}
		posts++
		form := url.Values{"username": {"root"}, "password": {testPassword}, "reason": {"suspected_fraud"}}
		resp, _ := c.do(http.MethodPost, concrete(r.Path), form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token: %d", r.Path, resp.StatusCode)
		}
		form.Set("gorilla.csrf.Token", "bm90IGEgcmVhbCB0b2tlbiBhdCBhbGwgYnV0IDY0IGJ5dGVzIGxvbmcgZW5vdWdoISEhISEhISEhISEhISEhIQ==")
		if resp, _ := c.do(http.MethodPost, concrete(r.Path), form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d", r.Path, resp.StatusCode)
		}
	}
	if posts < 15 {
		t.Fatalf("only %d forms", posts)
	}
	var v model.Verification
	env.db.First(&v, id)
	if v.ClaimedBy != nil || v.State != store.Review {
		t.Fatalf("a refused form changed the case: %+v", v)
	}
	// A cross-site Origin is refused even with a token.
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/admin/cases/1/claim", strings.NewReader("gorilla.csrf.Token="+url.QueryEscape(c.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d", resp.StatusCode)
	}
}

// TestReviewerCannotReachAdminPages: accounts, webhooks and the audit log
// answer 403 to a reviewer.
func TestReviewerCannotReachAdminPages(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	c := env.client(t)
	c.login("ann")
	checked := 0
	for _, r := range env.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/admin/audit") && !strings.HasPrefix(r.Path, "/admin/accounts") && !strings.HasPrefix(r.Path, "/admin/webhooks") {
			continue
		}
		checked++
		var resp *http.Response
		if r.Method == http.MethodPost {
			resp, _ = c.post(concrete(r.Path), url.Values{"username": {"mallory"}, "password": {testPassword}, "role": {"admin"}, "url": {"https://x.example"}})
		} else {
			resp, _ = c.get(concrete(r.Path))
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("reviewer %s %s: %d", r.Method, r.Path, resp.StatusCode)
		}
	}
	if checked < 14 {
		t.Fatalf("only %d admin-only routes", checked)
	}
	var n int64
	env.db.Model(&model.AdminUser{}).Where("username = ?", "mallory").Count(&n)
	if n != 0 || len(env.hooks.endpoints) != 0 {
		t.Fatal("a reviewer created an account or an endpoint")
	}
	// The reviewer's own pages work, and the navigation hides admin links.
	resp, body := c.get("/admin/dashboard")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `href="/admin/accounts"`) {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
}

// TestOCRTextRendersInert: whatever OCR read, a user typed or a vendor
// answered is text on the page, never markup.
func TestOCRTextRendersInert(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	evil := `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	id := env.seedCase(t, `o-<script>alert(4)</script>`, "<script>alert(5)</script>", "11010519491231002X",
		ocr.Fields{Side: ocr.SideFront, Name: evil, Address: evil, Ethnicity: evil, IDNumber: `"><svg onload=alert(6)>`},
		ocr.Fields{Side: ocr.SideBack, Authority: evil, ValidTo: `javascript:alert(7)`}, verify.ReasonOCRMismatch)
	c := env.client(t)
	c.login("ann")
	pages := map[string]string{}
	_, pages["queue"] = c.get("/admin/?state=any&openid=" + url.QueryEscape(`o-<script>alert(4)</script>`))
	_, pages["case"] = c.get(caseURL(id))
	pages["revealed"] = c.claimAndReveal(id)
	c2 := env.client(t)
	c2.login("root")
	_, pages["audit"] = c2.get("/admin/audit")
	for name, body := range pages {
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg", "<b>\"warn\""} {
			if strings.Contains(body, bad) {
				t.Errorf("%s page carries %q", name, bad)
			}
		}
	}
	if !strings.Contains(pages["revealed"], "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(pages["revealed"], "&#34;&gt;&lt;svg") {
		t.Errorf("revealed page does not show the text escaped")
	}
	if !strings.Contains(pages["queue"], "o-&lt;script&gt;alert(4)") {
		t.Errorf("queue does not show the openid escaped")
	}
}

// TestAdminReviewOverHTTP: sign in, find the case, reveal, claim, approve,
// and see the decision's webhook event on the case page.
func TestAdminReviewOverHTTP(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	id := env.seedCase(t, "o-flow", "张三", "11010519491231002X",
		ocr.Fields{Side: ocr.SideFront, Name: "张三", IDNumber: "11010519491231002X"}, ocr.Fields{Side: ocr.SideBack}, verify.ReasonNoRecord)
	c := env.client(t)
	c.login("ann")
	resp, body := c.get("/admin/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, caseURL(id)) || !strings.Contains(body, "张*") {
		t.Fatalf("queue: %d", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("headers %v", resp.Header)
	}
	_, body = c.post("/admin/search", url.Values{"id_number": {"11010519491231002x"}})
	if !strings.Contains(body, caseURL(id)) {
		t.Fatal("search by ID number does not find the case")
	}
	_, body = c.get(caseURL(id))
	if strings.Contains(body, "11010519491231002X") || !strings.Contains(body, "1101**********002X") {
		t.Fatal("case page not masked")
	}
	resp, _ = c.post(caseURL(id)+"/approve", url.Values{"confirm": {"1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != caseURL(id)+"?err=not_claimed" {
		t.Fatalf("approve without a claim: %d %s", resp.StatusCode, loc)
	}
	// A reveal is for the reviewer holding the case.
	resp, _ = c.post(caseURL(id)+"/reveal", nil)
	if loc := resp.Header.Get("Location"); loc != caseURL(id)+"?err=reveal_not_claimed" {
		t.Fatalf("reveal without a claim: %s", loc)
	}
	body = c.claimAndReveal(id)
	if !strings.Contains(body, "11010519491231002X") || !strings.Contains(body, "张三") {
		t.Fatal("reveal does not show the values")
	}
	// A reload shows them again without a second audit entry.
	var reveals int64
	env.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", id, "revealed").Count(&reveals)
	if _, again := c.get(caseURL(id)); !strings.Contains(again, "11010519491231002X") || reveals != 1 {
		t.Fatalf("reload after reveal: shown=%v reveals=%d", strings.Contains(again, "11010519491231002X"), reveals)
	}
	env.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", id, "revealed").Count(&reveals)
	if reveals != 1 {
		t.Fatalf("a reload audited again: %d reveals", reveals)
	}
	bob := env.client(t)
	bob.login("bob")
	resp, _ = bob.post(caseURL(id)+"/claim", nil)
	if loc := resp.Header.Get("Location"); loc != caseURL(id)+"?err=claimed_by_other" {
		t.Fatalf("second claim: %s", loc)
	}
	_, body = bob.get(caseURL(id) + "?err=claimed_by_other")
	if !strings.Contains(body, "Another reviewer holds this case") || strings.Contains(body, `id="reveal"`) {
		t.Fatal("no message for the refused claim, or a reveal offered to a reviewer without the claim")
	}
	if resp, _ = bob.post(caseURL(id)+"/reveal", nil); resp.Header.Get("Location") != caseURL(id)+"?err=reveal_not_claimed" {
		t.Fatalf("another reviewer's reveal: %s", resp.Header.Get("Location"))
	}
	_, body = c.get(caseURL(id) + "?done=claimed")
	// Without the confirmation the decision is asked about, not made.
	resp, body = c.post(caseURL(id)+"/approve", url.Values{"note": {"ok"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="confirm-step"`) || !strings.Contains(body, `name="confirm" value="1"`) {
		t.Fatalf("approve without confirm: %d", resp.StatusCode)
	}
	if st := env.state(t, id); st != string(store.Review) {
		t.Fatalf("an unconfirmed approval decided the case: %s", st)
	}
	resp, _ = c.post(caseURL(id)+"/approve", url.Values{"note": {"ok"}, "confirm": {"1"}})
	if loc := resp.Header.Get("Location"); loc != "/admin/?done=approved" {
		t.Fatalf("approve: %s", loc)
	}
	_, body = c.get(caseURL(id) + "?done=approved")
	if !strings.Contains(body, "verification.reviewed") || !strings.Contains(body, `<span class="state verified">verified</span>`) {
		t.Fatalf("case page after approval:\n%s", body)
	}

	root := env.client(t)
	root.login("root")
	// A decided case opens only for an admin, with a reason.
	root.get(caseURL(id))
	if resp, _ = root.post(caseURL(id)+"/reveal", nil); resp.Header.Get("Location") != caseURL(id)+"?err=reveal_reason" {
		t.Fatalf("an admin's reveal without a reason: %s", resp.Header.Get("Location"))
	}
	if resp, _ = root.post(caseURL(id)+"/reveal", url.Values{"reason": {"complaint 4711"}}); resp.Header.Get("Location") != caseURL(id)+"#photos" {
		t.Fatalf("an admin's reveal with a reason: %s", resp.Header.Get("Location"))
	}
	_, body = root.get("/admin/audit")
	for _, want := range []string{"revealed", "claimed", "reviewed", "admin_login", "ann", "id_number_searched", "complaint 4711"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	resp, body = root.get("/admin/audit.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(body, ",revealed,") {
		t.Fatalf("csv: %d %s", resp.StatusCode, body)
	}
	resp, body = root.get("/admin/dashboard")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "wxtest") || !strings.Contains(body, "apizero") {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	resp, _ = c.post("/admin/logout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}

func TestAdminPhotos(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	id := env.seedCase(t, "o-photo", "张三", "11010519491231002X", ocr.Fields{Name: "张三"}, ocr.Fields{}, verify.ReasonNoRecord)
	ref, err := env.blobs.Put(t.Context(), []byte("\x89PNG\r\n\x1a\nrest"))
	if err != nil {
		t.Fatal(err)
	}
	env.db.Model(&model.Verification{}).Where("id = ?", id).Update("front_blob", ref)
	c := env.client(t)
	c.login("ann")
	if resp, _ := c.get(caseURL(id) + "/photos/front"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("photo before a reveal: %d", resp.StatusCode)
	}
	body := c.claimAndReveal(id)
	if !strings.Contains(body, caseURL(id)+"/photos/front") {
		t.Fatal("revealed page has no photo")
	}
	resp, body := c.get(caseURL(id) + "/photos/front")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("photo: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := c.get(caseURL(id) + "/photos/back"); resp.StatusCode != http.StatusGone {
		t.Fatalf("missing side: %d", resp.StatusCode)
	}
}

func TestAdminLoginPage(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	c := env.client(t)
	resp, body := c.post("/admin/login", url.Values{"username": {"ann"}, "password": {"not the password"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	for range 4 {
		c.post("/admin/login", url.Values{"username": {"ann"}, "password": {"not the password"}})
	}
	// Locked, with the right password: the same answer as for a username
	// that does not exist, so a lock-out does not reveal the account.
	resp, body = c.post("/admin/login", url.Values{"username": {"ann"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") || strings.Contains(body, "locked") {
		t.Fatalf("locked account: %d %s", resp.StatusCode, body)
	}
	respUnknown, bodyUnknown := env.client(t).post("/admin/login", url.Values{"username": {"nobody-here"}, "password": {testPassword}})
	const msg = "Wrong username or password. After repeated failed sign-ins an account waits before it can sign in again."
	if respUnknown.StatusCode != resp.StatusCode || !strings.Contains(bodyUnknown, msg) || !strings.Contains(body, msg) {
		t.Errorf("an unknown username is answered differently from a locked account")
	}
	for range 10 {
		resp, _ = c.post("/admin/login", url.Values{"username": {"ann"}, "password": {testPassword}})
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d", resp.StatusCode)
	}
	// The redirect after login stays on our admin pages.
	for next, want := range map[string]string{"/admin/dashboard": "/admin/dashboard", "//evil.example/admin/": "/admin/",
		"https://evil.example": "/admin/", "/admin/\\evil": "/admin/", "/admin/login": "/admin/"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
	b := env.client(t)
	resp, _ = b.post("/admin/login", url.Values{"username": {"bob"}, "password": {testPassword}, "next": {"/admin/dashboard"}})
	if resp.Header.Get("Location") != "/admin/dashboard" {
		t.Fatalf("next: %s", resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == adminCookie && (!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure) {
			t.Fatalf("session cookie %+v", ck)
		}
	}
}

func TestAdminAccountsAndWebhookPages(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	c := env.client(t)
	c.login("root")
	resp, _ := c.post("/admin/accounts", url.Values{"username": {"carol"}, "password": {testPassword}, "role": {"reviewer"}})
	if resp.Header.Get("Location") != "/admin/accounts?done=account_created" {
		t.Fatalf("create account: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.post("/admin/accounts", url.Values{"username": {"carol"}, "password": {testPassword}, "role": {"reviewer"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "taken") {
		t.Fatalf("duplicate: %d", resp.StatusCode)
	}
	resp, _ = c.post(fmt.Sprintf("/admin/accounts/%d/disable", env.admins["root"]), nil)
	if resp.Header.Get("Location") != "/admin/accounts?err=self_disable" {
		t.Fatalf("self-disable: %s", resp.Header.Get("Location"))
	}
	ann := env.client(t)
	ann.login("ann")
	c.get("/admin/accounts")
	resp, _ = c.post(fmt.Sprintf("/admin/accounts/%d/disable", env.admins["ann"]), nil)
	if resp.Header.Get("Location") != "/admin/accounts?done=account_changed" {
		t.Fatalf("disable: %s", resp.Header.Get("Location"))
	}
	if resp, _ := ann.get("/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled reviewer still signed in: %d", resp.StatusCode)
	}

	_, body = c.post("/admin/webhooks", url.Values{"url": {"https://biz.example/hook"}, "event_types": {"verification.reviewed, verification.verified"}})
	if !strings.Contains(body, "whsec_new_secret_1") || !strings.Contains(body, "https://biz.example/hook") {
		t.Fatal("create endpoint does not show the secret once")
	}
	if _, body := c.get("/admin/webhooks"); strings.Contains(body, "whsec_new_secret_1") {
		t.Fatal("the secret is shown again")
	}
	_, body = c.post("/admin/webhooks", url.Values{"url": {"http://127.0.0.1:9/hook"}, "allow_private": {"1"}})
	if !strings.Contains(body, "private addresses allowed") || len(env.hooks.endpoints) != 2 || !env.hooks.endpoints[1].AllowPrivate {
		t.Fatal("the form's allow-private choice is not kept")
	}
	if resp, body := c.post("/admin/webhooks", url.Values{"url": {"ftp://x.example/hook"}}); resp.StatusCode != 422 ||
		!strings.Contains(body, "the URL must start with http:// or https://") || !strings.Contains(body, "url_scheme") {
		t.Fatalf("a refused URL: %d", resp.StatusCode)
	}
	zh := env.client(t)
	zh.lang = ""
	zh.login("root")
	if _, body := zh.post("/admin/webhooks", url.Values{"url": {"ftp://x.example/hook"}}); !strings.Contains(body, "URL 必须以 http:// 或 https:// 开头") {
		t.Fatal("a refused URL is not said in Chinese")
	}
	resp, _ = c.post("/admin/webhooks/2/network", url.Values{"allow_private": {"0"}})
	if resp.Header.Get("Location") != "/admin/webhooks?done=endpoint_changed" || env.hooks.endpoints[1].AllowPrivate {
		t.Fatalf("network change: %s", resp.Header.Get("Location"))
	}
	resp, _ = c.post("/admin/webhooks/1/ping", nil)
	if resp.Header.Get("Location") != "/admin/webhooks/deliveries?endpoint=1&done=ping_sent" || len(env.hooks.pinged) != 1 {
		t.Fatalf("ping: %s %v", resp.Header.Get("Location"), env.hooks.pinged)
	}
	resp, _ = c.post("/admin/webhooks/1/disable", nil)
	if resp.Header.Get("Location") != "/admin/webhooks?done=endpoint_changed" || env.hooks.endpoints[0].Enabled {
		t.Fatalf("disable endpoint: %s", resp.Header.Get("Location"))
	}
	if _, body := c.post("/admin/webhooks/1/rotate", nil); !strings.Contains(body, "whsec_rotated_2") {
		t.Fatal("rotation does not show the new secret")
	}
	if _, body := c.get("/admin/webhooks/deliveries?status=failed"); !strings.Contains(body, "evt_1") {
		t.Fatal("deliveries page")
	}
	if _, body := c.get("/admin/webhooks/deliveries/7"); !strings.Contains(body, "&lt;html&gt;oops") {
		t.Fatal("attempts page")
	}
	c.post("/admin/webhooks/deliveries/7/replay", nil)
	if len(env.hooks.replayed) != 1 {
		t.Fatal("replay not called")
	}
	_, body = c.get("/admin/audit?type=webhook_secret_rotated")
	if !strings.Contains(body, "webhook_secret_rotated") {
		t.Fatal("webhook action not audited")
	}

	none := newAdminEnv(t, false, nil)
	n := none.client(t)
	n.login("root")
	if _, body := n.get("/admin/webhooks"); !strings.Contains(body, "not configured") {
		t.Fatal("no webhook service: page does not say so")
	}
	if resp, _ := n.post("/admin/webhooks", url.Values{"url": {"https://x.example"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("create without a webhook service: %d", resp.StatusCode)
	}
}

// TestAdminPagesSayWhenAStoreIsDown: with Redis gone, a staff page answers
// a clear 503 (retry soon), not a 500.
func TestAdminPagesSayWhenAStoreIsDown(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	c := env.client(t)
	c.get("/admin/login")
	if resp, _ := c.post("/admin/login", url.Values{"username": {"ann"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	_ = env.redis.Client.Close()
	resp, body := c.get("/admin/")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "unavailable") {
		t.Fatalf("queue with Redis down: %d %q", resp.StatusCode, body)
	}
}
