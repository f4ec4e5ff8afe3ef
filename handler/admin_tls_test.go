package handler

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleRefusedOverPlainHTTPInProduction: in production the console,
// sign-in first, is refused over plain HTTP with a page saying why, in
// Chinese unless the browser asks for English; a forged X-Forwarded-Proto
// does not count unless REALNAME_ADMIN_ALLOW_HTTP declared the proxy.
func TestConsoleRefusedOverPlainHTTPInProduction(t *testing.T) {
	env := newAdminEnvTLS(t, false, &fakeWebhooks{}, TLSPolicy{Production: true})
	for _, tc := range []struct {
		method, path, lang, proto, want string
	}{
		{"GET", "/admin/login", "", "", "管理后台只能通过 HTTPS 访问"},
		{"GET", "/admin/login", "en", "", "served over HTTPS only"},
		{"POST", "/admin/login", "", "", "REALNAME_ADMIN_ALLOW_HTTP=true"},
		{"GET", "/admin/login", "", "https", "管理后台只能通过 HTTPS 访问"},
		{"GET", "/admin/", "", "", "管理后台只能通过 HTTPS 访问"},
	} {
		form := url.Values{"username": {"root"}, "password": {testPassword}}
		req, _ := http.NewRequest(tc.method, env.URL+tc.path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.lang != "" {
			req.Header.Set("Accept-Language", tc.lang)
		}
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		resp, body := send(t, req)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s (%q, proto %q): %d, want 403 saying %q", tc.method, tc.path, tc.lang, tc.proto, resp.StatusCode, tc.want)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s %s: cookies set on a refused page: %v", tc.method, tc.path, resp.Cookies())
		}
	}
}

// TestConsoleBehindDeclaredProxy: with REALNAME_ADMIN_ALLOW_HTTP the
// console works at the plain listener, every cookie is Secure and HSTS is
// sent; a proxy saying the browser used http is still refused.
func TestConsoleBehindDeclaredProxy(t *testing.T) {
	env := newAdminEnvTLS(t, false, &fakeWebhooks{}, TLSPolicy{Production: true, BehindTLSProxy: true})
	get := func(proto string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/admin/login", nil)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		return send(t, req)
	}
	if resp, _ := get("http"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("proxy says http: %d", resp.StatusCode)
	}
	resp, body := get("https")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("login page behind the proxy: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	form := url.Values{"username": {"root"}, "password": {testPassword}, "gorilla.csrf.Token": {m[1]}}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Origin", "https://"+strings.TrimPrefix(env.URL, "http://"))
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	login, _ := send(t, req)
	if login.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in behind the proxy: %d", login.StatusCode)
	}
	for _, c := range append(resp.Cookies(), login.Cookies()...) {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure in production", c.Name)
		}
	}
	if len(login.Cookies()) == 0 {
		t.Error("no session cookie")
	}
}

// TestCSRFTokenRotatedAtSignIn: a token handed out before sign-in (or
// planted by someone else) does not verify in the session that follows.
func TestCSRFTokenRotatedAtSignIn(t *testing.T) {
	env := newAdminEnv(t, false, &fakeWebhooks{})
	c := env.client(t)
	c.get("/admin/login")
	before, beforeCookie := c.csrf, csrfCookie(t, c)
	c.login("root")
	if c.csrf == before {
		t.Error("the page after sign-in shows the pre-login token")
	}
	if now := csrfCookie(t, c); now.Value == beforeCookie.Value {
		t.Error("the CSRF cookie was not replaced after sign-in")
	}
	// The browser sends the pre-login pair again, as a planted one would be.
	u, _ := url.Parse(env.URL + "/admin/")
	c.http.Jar.SetCookies(u, []*http.Cookie{beforeCookie})
	c.csrf = before
	if resp, _ := c.post("/admin/language", url.Values{"language": {"en"}, "next": {"/admin/"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a pre-login token was accepted in the session: %d", resp.StatusCode)
	}
	// A fresh page gives a token that works.
	c.get("/admin/")
	if resp, _ := c.post("/admin/language", url.Values{"language": {"en"}, "next": {"/admin/"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session's own token: %d", resp.StatusCode)
	}
}

func csrfCookie(t *testing.T, c *client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(c.base + "/admin/")
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == adminCSRFCookie {
			return &http.Cookie{Name: k.Name, Value: k.Value, Path: "/admin"}
		}
	}
	t.Fatal("no CSRF cookie")
	return nil
}

func send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
