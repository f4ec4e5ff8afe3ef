package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// tokenFamily separates the tokens of cgi-bin/token from those of
// cgi-bin/stable_token: WeChat keeps the two apart, so refreshing one never
// disturbs the other.
type tokenFamily int

const (
	familyClassic tokenFamily = iota
	familyStable
	familyCount
)

// wxToken is one issued access_token. Its fields are guarded by WeChat.mu.
type wxToken struct {
	value   string
	appid   string
	expires time.Time
	// until is zero while the token is its family's newest; once a newer
	// one replaces it, the end of its grace period.
	until time.Time
}

// wxApp is one Mini Program the fake knows. Guarded by WeChat.mu.
type wxApp struct {
	id     string
	secret string
	// families holds, per family, the newest token and the one it
	// replaced (still valid during its grace period). Older tokens are
	// forgotten, which is what makes them answer 40001.
	families [familyCount]struct{ cur, prev *wxToken }

	day                       string // the China-time date the daily counters count
	classicToday, forcedToday int
	lastForce                 time.Time

	issuedClassic, issuedStable, forced int
}

// tokenAnswer is the success body of both token endpoints.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// AddApp registers an app, or changes the secret of a known one (its
// tokens stay valid, as on WeChat when a secret is reset).
func (w *WeChat) AddApp(appid, secret string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if app := w.apps[appid]; app != nil {
		app.secret = secret
		return
	}
	w.apps[appid] = &wxApp{id: appid, secret: secret}
}

// InvalidateTokens makes every token of appid, classic and stable,
// answer 40001 from now on, as when another system refreshed them.
func (w *WeChat) InvalidateTokens(appid string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.apps[appid]
	if app == nil {
		return
	}
	for f := range app.families {
		fam := &app.families[f]
		for _, t := range []*wxToken{fam.cur, fam.prev} {
			if t != nil {
				delete(w.tokens, t.value)
			}
		}
		fam.cur, fam.prev = nil, nil
	}
}

// Issued reports how many tokens appid has been issued since the fake
// started: classic by cgi-bin/token, stable by cgi-bin/stable_token (both
// modes), and forced, the part of stable that force_refresh produced.
func (w *WeChat) Issued(appid string) (classic, stable, forced int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.apps[appid]
	if app == nil {
		return 0, 0, 0
	}
	return app.issuedClassic, app.issuedStable, app.forced
}

// ValidToken returns nil when token is a usable access_token of appid, else
// a *WeChatError with code 40001 (unknown, replaced past its grace period,
// invalidated, another app's) or 42001 (expired).
func (w *WeChat) ValidToken(appid, token string) error {
	return w.ValidTokenAt(appid, token, w.opts.Now())
}

// ValidTokenAt is ValidToken as of at: whether token was usable then. Load
// tests use it to judge a token by when it was handed out, not by when a
// starved goroutine got round to checking it. A token forgotten since (two
// refreshes later) still answers 40001.
func (w *WeChat) ValidTokenAt(appid, token string, at time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, werr := w.tokenLocked(token, at)
	switch {
	case werr != nil:
		return werr
	case t.appid != appid:
		return wxErr(40001)
	}
	return nil
}

// tokenLocked looks an access_token up for an API call.
func (w *WeChat) tokenLocked(value string, now time.Time) (*wxToken, *WeChatError) {
	t := w.tokens[value]
	switch {
	case t == nil:
		return nil, wxErr(40001)
	case !now.Before(t.expires):
		return nil, wxErr(42001)
	case !t.until.IsZero() && !now.Before(t.until):
		return nil, wxErr(40001)
	}
	return t, nil
}

// serveToken is GET /cgi-bin/token: every call issues a new token; the
// previous one keeps working for the grace period.
func (w *WeChat) serveToken(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app, werr := w.authenticate(q.Get("grant_type"), "client_credential", q.Get("appid"), q.Get("secret"))
	if werr != nil {
		writeWx(rw, werr)
		return
	}
	value, now := newAccessToken(), w.opts.Now()
	w.mu.Lock()
	w.rollDayLocked(app, now)
	if limit := w.opts.ClassicDailyLimit; limit > 0 && app.classicToday >= limit {
		w.mu.Unlock()
		writeWx(rw, wxErr(45009))
		return
	}
	app.classicToday++
	app.issuedClassic++
	answer := w.issueLocked(app, familyClassic, value, now)
	w.mu.Unlock()
	writeWx(rw, answer)
}

// stableRequest is the JSON body of POST /cgi-bin/stable_token.
type stableRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// serveStableToken is POST /cgi-bin/stable_token. A body that is not JSON
// (or has a field of the wrong type) answers 47001 "data format error",
// WeChat's code for an unparsable POST body.
func (w *WeChat) serveStableToken(rw http.ResponseWriter, r *http.Request) {
	var req stableRequest
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 64<<10)).Decode(&req); err != nil {
		writeWx(rw, wxErr(47001))
		return
	}
	app, werr := w.authenticate(req.GrantType, "client_credential", req.AppID, req.Secret)
	if werr != nil {
		writeWx(rw, werr)
		return
	}
	// The random value is drawn before locking and thrown away when the
	// current token is still good: cheaper than holding the lock for it.
	value, now := newAccessToken(), w.opts.Now()
	w.mu.Lock()
	answer, werr := w.stableLocked(app, req.ForceRefresh, value, now)
	w.mu.Unlock()
	if werr != nil {
		writeWx(rw, werr)
		return
	}
	writeWx(rw, answer)
}

// stableLocked answers stable_token: normal mode hands out the current
// token until it enters the renew window (or has under a second left), force mode replaces it within
// the interval and daily limits.
func (w *WeChat) stableLocked(app *wxApp, force bool, value string, now time.Time) (tokenAnswer, *WeChatError) {
	if !force {
		if cur := app.families[familyStable].cur; cur != nil && cur.expires.Sub(now) >= max(time.Second, w.opts.RenewWindow) {
			return tokenAnswer{AccessToken: cur.value, ExpiresIn: int(cur.expires.Sub(now) / time.Second)}, nil
		}
		app.issuedStable++
		return w.issueLocked(app, familyStable, value, now), nil
	}
	w.rollDayLocked(app, now)
	if iv := w.opts.ForceInterval; iv > 0 && !app.lastForce.IsZero() && now.Sub(app.lastForce) < iv {
		return tokenAnswer{}, &WeChatError{Code: 45009, Msg: fmt.Sprintf(
			"reach max api daily quota limit: force_refresh at most once every %v", iv)}
	}
	if limit := w.opts.ForceDailyLimit; limit > 0 && app.forcedToday >= limit {
		return tokenAnswer{}, &WeChatError{Code: 45009, Msg: fmt.Sprintf(
			"reach max api daily quota limit: force_refresh at most %d times a day", limit)}
	}
	app.forcedToday++
	app.lastForce = now
	app.issuedStable++
	app.forced++
	return w.issueLocked(app, familyStable, value, now), nil
}

// issueLocked makes value the newest token of the family. The token it
// replaces keeps a grace period; the one before that dies at once, since
// WeChat promises only "old and new" overlap.
func (w *WeChat) issueLocked(app *wxApp, f tokenFamily, value string, now time.Time) tokenAnswer {
	fam := &app.families[f]
	if fam.prev != nil {
		delete(w.tokens, fam.prev.value)
	}
	fam.prev = fam.cur
	if fam.prev != nil {
		fam.prev.until = now.Add(w.opts.Grace)
	}
	fam.cur = &wxToken{value: value, appid: app.id, expires: now.Add(w.opts.TokenTTL)}
	w.tokens[value] = fam.cur
	return tokenAnswer{AccessToken: value, ExpiresIn: int(w.opts.TokenTTL / time.Second)}
}

// rollDayLocked resets app's daily counters when the date in China (where
// WeChat's quotas reset at midnight) has changed since they last counted.
func (w *WeChat) rollDayLocked(app *wxApp, now time.Time) {
	if day := now.In(w.china).Format(time.DateOnly); day != app.day {
		app.day, app.classicToday, app.forcedToday = day, 0, 0
	}
}

// newAccessToken returns 64 URL-safe random characters; real tokens are
// longer and opaque, and clients must not parse them.
func newAccessToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}
