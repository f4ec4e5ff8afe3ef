package handler

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/csrf"

	"realname/service/admin"
)

const (
	adminCookie     = "realname_admin"
	adminCSRFCookie = "realname_admin_csrf"
	adminSessionKey = "admin_session"
)

// requireTLS refuses every console page, the sign-in form first, when the
// policy says the browser must be on HTTPS and is not (production without
// a declared TLS proxy): a clear page instead of a password sent in clear.
func (p *adminPages) requireTLS(c *gin.Context) {
	if !p.tls.consoleAllowed(c.Request) {
		p.errorPage(c, http.StatusForbidden, "error.https_required")
		return
	}
	c.Next()
}

// csrf checks the token of every unsafe request (gorilla/csrf). Over plain
// HTTP the request is marked as such, or gorilla would demand an HTTPS
// Referer; the cookie is Secure behind TLS and always in production. The
// cookie's signing key is bound to the session cookie (csrfKey), so the
// token is a new one once a session begins.
func (p *adminPages) csrf(key []byte) gin.HandlerFunc {
	refused := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.log.Warn("admin: CSRF check failed", "reason", fmt.Sprint(csrf.FailureReason(r)), "method", r.Method)
		p.writeError(w, p.localeFor(r, ""), http.StatusForbidden, "error.csrf")
	})
	return func(c *gin.Context) {
		session, _ := c.Cookie(adminCookie)
		protect := csrf.Protect(csrfKey(key, session), csrf.Secure(p.tls.secureCookies(c.Request)), csrf.HttpOnly(true),
			csrf.SameSite(csrf.SameSiteStrictMode), csrf.Path("/admin"), csrf.CookieName(adminCSRFCookie),
			csrf.MaxAge(12*3600), csrf.ErrorHandler(refused))
		passed := false
		next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { passed = true; c.Request = r })
		if p.tls.browserTLS(c.Request) {
			protect(next).ServeHTTP(c.Writer, c.Request)
		} else {
			protect(next).ServeHTTP(c.Writer, csrf.PlaintextHTTPRequest(c.Request))
		}
		if !passed {
			c.Abort()
			return
		}
		c.Next()
	}
}

// csrfKey is the key signing the CSRF cookie for a browser holding the
// given session cookie. Bound to the session, a token handed out before
// sign-in (or planted in the browser by someone else) no longer verifies
// once the session exists; the first page after sign-in issues a new one.
// Sign-out rotates it again.
func csrfKey(key []byte, session string) []byte {
	if session == "" {
		return key
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("admin csrf\x00"))
	m.Write([]byte(session))
	return m.Sum(nil)
}

// authenticate lets a request through only with a live staff session. A
// page request without one goes to the login page; anything else gets 401.
func (p *adminPages) authenticate(c *gin.Context) {
	token, _ := c.Cookie(adminCookie)
	sess, err := p.accounts.Session(c.Request.Context(), token)
	if err != nil {
		if !errors.Is(err, admin.ErrNoSession) {
			p.fail(c, err)
			return
		}
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Redirect(http.StatusSeeOther, "/admin/login?next="+queryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		p.errorPage(c, http.StatusUnauthorized, "error.session_ended")
		return
	}
	c.Set(adminSessionKey, sess)
	c.Next()
}

// requireAdmin refuses reviewers: accounts, webhooks and the audit log are
// for admins.
func (p *adminPages) requireAdmin(c *gin.Context) {
	if !staffOf(c).IsAdmin() {
		p.errorPage(c, http.StatusForbidden, "error.admins_only")
		return
	}
	c.Next()
}

// staffOf is the signed-in staff member.
func staffOf(c *gin.Context) admin.Session {
	s, _ := c.Get(adminSessionKey)
	sess, _ := s.(admin.Session)
	return sess
}

func (p *adminPages) loginPage(c *gin.Context) {
	p.render(c, http.StatusOK, "admin_login.html", "login.title", gin.H{"Next": safeNext(c.Query("next"))})
}

func (p *adminPages) login(c *gin.Context) {
	next := safeNext(c.PostForm("next"))
	token, sess, err := p.accounts.Login(c.Request.Context(), c.PostForm("username"), c.PostForm("password"), c.ClientIP())
	var limited *admin.RateLimitError
	status, msg := http.StatusUnauthorized, ""
	switch {
	case err == nil:
		p.setSessionCookie(c, token, int(p.accounts.SessionTTL().Seconds()))
		p.log.Info("admin signed in", "admin", sess.AdminID)
		c.Redirect(http.StatusSeeOther, next)
		return
	case errors.As(err, &limited):
		c.Header("Retry-After", retryAfter(limited.RetryAfter))
		status, msg = http.StatusTooManyRequests, "login.too_many"
	case errors.Is(err, admin.ErrBadCredentials):
		// One message for a wrong password, an unknown username and a
		// locked account: none of them may tell that an account exists.
		msg = "login.wrong"
	default:
		p.fail(c, err)
		return
	}
	p.render(c, status, "admin_login.html", "login.title", gin.H{"Next": next, "Error": p.locale(c).T(msg), "Username": c.PostForm("username")})
}

// setLanguage stores the signed-in account's console language and goes
// back to the page it was chosen on.
func (p *adminPages) setLanguage(c *gin.Context) {
	lang := c.PostForm("language")
	if err := p.accounts.SetLanguage(c.Request.Context(), staffOf(c).AdminID, lang); err != nil {
		if errors.Is(err, admin.ErrInvalidLanguage) {
			p.errorPage(c, http.StatusUnprocessableEntity, "error.bad_language")
			return
		}
		p.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

func (p *adminPages) logout(c *gin.Context) {
	token, _ := c.Cookie(adminCookie)
	if err := p.accounts.Logout(c.Request.Context(), token); err != nil {
		p.log.Error("admin logout", "err", err)
	}
	p.setSessionCookie(c, "", -1)
	c.Redirect(http.StatusSeeOther, "/admin/login")
}

func (p *adminPages) setSessionCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: adminCookie, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: p.tls.secureCookies(c.Request), SameSite: http.SameSiteStrictMode})
}

// safeNext keeps the post-login redirect on our admin pages.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "/admin/login") ||
		strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return "/admin/"
	}
	return next
}
