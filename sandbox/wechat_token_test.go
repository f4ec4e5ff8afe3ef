package sandbox

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var urlSafeToken = regexp.MustCompile(`^[A-Za-z0-9_-]{32,}$`)

func TestWeChatTokenErrors(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	get := func(query string) wxAnswer { return h.do(h.request("GET", "/cgi-bin/token?"+query, nil)) }
	cred := "&appid=" + SandboxAppID + "&secret=" + SandboxAppSecret
	for _, tc := range []struct {
		name string
		call func() wxAnswer
		code int
		msg  string
	}{
		{"classic without grant_type", func() wxAnswer { return get(cred[1:]) }, 40002, "invalid grant_type"},
		{"classic wrong grant_type", func() wxAnswer { return get("grant_type=authorization_code" + cred) }, 40002, "invalid grant_type"},
		{"classic without appid", func() wxAnswer { return h.classic("", SandboxAppSecret) }, 41002, "appid missing"},
		{"classic unknown appid", func() wxAnswer { return h.classic("wxnobody", SandboxAppSecret) }, 40013, "invalid appid"},
		{"classic without secret", func() wxAnswer { return h.classic(SandboxAppID, "") }, 41004, "appsecret missing"},
		{"classic wrong secret", func() wxAnswer { return h.classic(SandboxAppID, "guess") }, 40125, "invalid appsecret"},
		{"stable wrong grant_type", func() wxAnswer {
			return h.postJSON("/cgi-bin/stable_token", `{"grant_type":"x","appid":"`+SandboxAppID+`","secret":"`+SandboxAppSecret+`"}`)
		}, 40002, "invalid grant_type"},
		{"stable unknown appid", func() wxAnswer { return h.stable("wxnobody", SandboxAppSecret, false) }, 40013, "invalid appid"},
		{"stable wrong secret", func() wxAnswer { return h.stable(SandboxAppID, "guess", true) }, 40125, "invalid appsecret"},
		{"stable malformed JSON", func() wxAnswer { return h.postJSON("/cgi-bin/stable_token", `{"appid":`) }, 47001, "data format error"},
		{"stable force_refresh as string", func() wxAnswer {
			return h.postJSON("/cgi-bin/stable_token", `{"grant_type":"client_credential","force_refresh":"yes"}`)
		}, 47001, "data format error"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.code, tc.msg) })
	}
	if c, s, f := h.wx.Issued(SandboxAppID); c+s+f != 0 {
		t.Fatalf("failed calls issued tokens: %d %d %d", c, s, f)
	}
}

func TestWeChatClassicTokenGrace(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	first := h.classic(SandboxAppID, SandboxAppSecret)
	if !urlSafeToken.MatchString(first.AccessToken) || first.ExpiresIn != 7200 || first.Errcode != 0 {
		t.Fatalf("first token answer %s", first.raw)
	}
	h.clock.Advance(time.Minute)
	second := h.token()
	if second == first.AccessToken {
		t.Fatal("a classic call returned the same token twice")
	}
	img := testSamples(t)[0].png
	h.clock.Advance(5*time.Minute - time.Second)
	if a := h.ocr(first.AccessToken, img, nil); a.Errcode != 0 {
		t.Fatalf("previous token rejected within the grace period: %s", a.raw)
	}
	h.clock.Advance(time.Second)
	wantErr(t, h.ocr(first.AccessToken, img, nil), 40001, "invalid credential, access_token is invalid or not latest")
	wantValid(t, h.wx, SandboxAppID, second, 0)

	// Only the newest and the one before it overlap: a third refresh ends
	// the second's validity after its grace, the first stays dead.
	third := h.token()
	wantValid(t, h.wx, SandboxAppID, second, 0)
	fourth := h.token()
	wantValid(t, h.wx, SandboxAppID, second, 40001)
	wantValid(t, h.wx, SandboxAppID, third, 0)
	wantValid(t, h.wx, "wxsomeoneelse", fourth, 40001)

	h.clock.Advance(2 * time.Hour)
	wantErr(t, h.ocr(fourth, img, nil), 42001, "access_token expired")
	wantErr(t, h.ocr("", img, nil), 41001, "access_token missing")
	if c, s, _ := h.wx.Issued(SandboxAppID); c != 4 || s != 0 {
		t.Fatalf("Issued = %d classic %d stable, want 4 and 0", c, s)
	}
}

func TestWeChatClassicDailyLimit(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{ClassicDailyLimit: 3})
	for range 3 {
		h.token()
	}
	wantErr(t, h.classic(SandboxAppID, SandboxAppSecret), 45009, "reach max api daily quota limit")
	// The clock starts at 18:00 in China: 5h59m later is still the same day there.
	h.clock.Advance(5*time.Hour + 59*time.Minute)
	wantErr(t, h.classic(SandboxAppID, SandboxAppSecret), 45009)
	h.clock.Advance(time.Minute)
	h.token()
}

func TestWeChatStableNormalMode(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	first := h.stable(SandboxAppID, SandboxAppSecret, false)
	if !urlSafeToken.MatchString(first.AccessToken) || first.ExpiresIn != 7200 {
		t.Fatalf("first stable answer %s", first.raw)
	}
	h.clock.Advance(10 * time.Second)
	again := h.stable(SandboxAppID, SandboxAppSecret, false)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7190 {
		t.Fatalf("second normal call %s, want the same token with expires_in 7190", again.raw)
	}

	// The classic family is separate: refreshing it leaves the stable token alone.
	classic := h.token()
	h.token()
	if a := h.stable(SandboxAppID, SandboxAppSecret, false); a.AccessToken != first.AccessToken {
		t.Fatalf("a classic refresh replaced the stable token: %s", a.raw)
	}
	wantValid(t, h.wx, SandboxAppID, first.AccessToken, 0)
	wantValid(t, h.wx, SandboxAppID, classic, 0)

	h.clock.Advance(7190 * time.Second)
	wantValid(t, h.wx, SandboxAppID, first.AccessToken, 42001)
	renewed := h.stable(SandboxAppID, SandboxAppSecret, false)
	if renewed.AccessToken == first.AccessToken || renewed.ExpiresIn != 7200 {
		t.Fatalf("after expiry %s, want a new token", renewed.raw)
	}
	if _, s, f := h.wx.Issued(SandboxAppID); s != 2 || f != 0 {
		t.Fatalf("Issued stable %d forced %d, want 2 and 0", s, f)
	}
}

func TestWeChatStableForceRefresh(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{ForceDailyLimit: 3})
	force := func() wxAnswer { return h.stable(SandboxAppID, SandboxAppSecret, true) }
	normal := h.stable(SandboxAppID, SandboxAppSecret, false).AccessToken
	classic := h.token()

	forced := force()
	if forced.AccessToken == "" || forced.AccessToken == normal || forced.ExpiresIn != 7200 {
		t.Fatalf("force refresh %s, want a new token", forced.raw)
	}
	if a := h.stable(SandboxAppID, SandboxAppSecret, false); a.AccessToken != forced.AccessToken {
		t.Fatalf("normal mode after a force refresh %s, want the forced token", a.raw)
	}
	wantValid(t, h.wx, SandboxAppID, classic, 0)
	h.clock.Advance(5*time.Minute - time.Second)
	wantValid(t, h.wx, SandboxAppID, normal, 0) // grace period
	h.clock.Advance(time.Second)
	wantValid(t, h.wx, SandboxAppID, normal, 40001)

	if a := force(); a.AccessToken == "" {
		t.Fatalf("second force refresh, 5 min after the first: %s", a.raw)
	}
	a := force()
	wantErr(t, a, 45009)
	if !strings.HasPrefix(a.Errmsg, "reach max api daily quota limit") || !strings.Contains(a.Errmsg, "30s") {
		t.Errorf("interval errmsg %q should name the 30s limit", a.Errmsg)
	}
	h.clock.Advance(29 * time.Second)
	wantErr(t, force(), 45009)
	h.clock.Advance(time.Second)
	if a := force(); a.AccessToken == "" {
		t.Fatalf("force refresh 30 s later: %s", a.raw)
	}
	h.clock.Advance(time.Minute)
	a = force()
	wantErr(t, a, 45009)
	if !strings.Contains(a.Errmsg, "3 times a day") {
		t.Errorf("daily errmsg %q should name the daily limit", a.Errmsg)
	}
	h.clock.Advance(6 * time.Hour) // past midnight in China
	if a := force(); a.AccessToken == "" {
		t.Fatalf("force refresh the next day: %s", a.raw)
	}
	if c, s, f := h.wx.Issued(SandboxAppID); c != 1 || s != 5 || f != 4 {
		t.Fatalf("Issued = %d %d %d, want 1 classic, 5 stable, 4 forced", c, s, f)
	}
}

func TestWeChatInvalidateTokens(t *testing.T) {
	h := newWxHarness(t, WeChatOptions{})
	img := testSamples(t)[0].png
	classic := h.token()
	stable := h.stable(SandboxAppID, SandboxAppSecret, false).AccessToken
	h.wx.InvalidateTokens(SandboxAppID)
	for _, tok := range []string{classic, stable} {
		wantErr(t, h.ocr(tok, img, nil), 40001)
	}
	renewed := h.stable(SandboxAppID, SandboxAppSecret, false).AccessToken
	if renewed == stable {
		t.Fatal("normal mode handed out an invalidated token")
	}
	if a := h.ocr(renewed, img, nil); a.Errcode != 0 {
		t.Fatalf("OCR with the renewed token: %s", a.raw)
	}
}
