package handler

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/csrf"

	"realname/service/admin"
	"realname/web"
)

// adminView is what every admin page gets: the signed-in staff member, the
// CSRF field for its forms, a flash message and the page's own data.
type adminView struct {
	Title    string
	L        *web.Locale // the page's language and time zone
	User     admin.Session
	SignedIn bool
	CSRF     template.HTML // the hidden input every form carries
	CSS, JS  string
	Flash    string
	Problem  string
	Path     string // this page's path and query, to come back to after a language change
	Data     any
}

// flashes are the messages a redirect may ask for (?done=code, message
// flash.code); a code is all the URL carries, so no text can be injected.
var flashes = codes("claimed", "released", "approved", "approval_requested", "rejected", "resubmit",
	"account_created", "account_changed", "endpoint_changed", "replayed", "ping_sent", "language_changed", "key_revoked")

// problems are the error messages a redirect may ask for (?err=code,
// message problem.code).
var problems = codes("claimed_by_other", "not_claimed", "not_in_review", "same_reviewer", "unknown_reason",
	"erased", "self_disable")

func codes(list ...string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, c := range list {
		m[c] = true
	}
	return m
}

// locale is the request's language: the signed-in account's choice, else
// the browser's Accept-Language; Chinese when neither says English.
func (p *adminPages) locale(c *gin.Context) *web.Locale {
	return p.localeFor(c.Request, staffOf(c).Language)
}

func (p *adminPages) localeFor(r *http.Request, pref string) *web.Locale {
	return p.catalog.Locale(pref, r.Header.Get("Accept-Language"))
}

// render executes a view into a buffer first, so a template error becomes
// a clean 500 instead of half a page. title is a message id.
func (p *adminPages) render(c *gin.Context, status int, name, title string, data any) {
	l := p.locale(c)
	v := adminView{Title: l.T(title), L: l, CSRF: csrf.TemplateField(c.Request), CSS: p.css, JS: p.js, Data: data,
		Path: "/admin/"}
	if c.Request.Method == http.MethodGet {
		v.Path = c.Request.URL.RequestURI()
	}
	if code := c.Query("done"); flashes[code] {
		v.Flash = l.T("flash." + code)
	}
	if code := c.Query("err"); problems[code] {
		v.Problem = l.T("problem." + code)
	}
	if s, ok := c.Get(adminSessionKey); ok {
		v.User, v.SignedIn = s.(admin.Session), true
	}
	var buf bytes.Buffer
	if err := p.templates.ExecuteTemplate(&buf, name, v); err != nil {
		p.log.Error("render admin page", "view", name, "err", err)
		p.errorPage(c, http.StatusInternalServerError, "error.render")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorPage ends the request with a plain error page saying message id
// msg (with args as name/value pairs).
func (p *adminPages) errorPage(c *gin.Context, status int, msg string, args ...any) {
	p.writeError(c.Writer, p.locale(c), status, msg, args...)
	c.Abort()
}

func (p *adminPages) writeError(w http.ResponseWriter, l *web.Locale, status int, msg string, args ...any) {
	var buf bytes.Buffer
	text := l.T(msg, args...)
	v := adminView{Title: l.T("error.title", "Status", status), L: l, CSS: p.css, Problem: text}
	if err := p.templates.ExecuteTemplate(&buf, "admin_error.html", v); err != nil {
		http.Error(w, text, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail logs an unexpected error and shows a 500 naming the request id,
// or a 503 when a store is down: that is not a bug, and a retry may work.
func (p *adminPages) fail(c *gin.Context, err error) {
	if storeUnavailable(err) {
		p.log.Warn("admin page: store unavailable", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
		c.Header("Retry-After", "5")
		p.errorPage(c, http.StatusServiceUnavailable, "error.unavailable", "RequestID", requestIDFrom(c))
		return
	}
	p.log.Error("admin page failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
	p.errorPage(c, http.StatusInternalServerError, "error.internal", "RequestID", requestIDFrom(c))
}

// pathID parses the :id parameter; a bad one is a 404.
func (p *adminPages) pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		p.errorPage(c, http.StatusNotFound, "error.no_page")
		return 0, false
	}
	return id, true
}

// back redirects after a POST, with a flash or problem code.
func back(c *gin.Context, path, key, code string) {
	if code != "" {
		path += "?" + key + "=" + url.QueryEscape(code)
	}
	c.Redirect(http.StatusSeeOther, path)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

func retryAfter(d time.Duration) string { return strconv.Itoa(int(d.Seconds() + 0.999)) }

func caseURL(id int64) string { return fmt.Sprintf("/admin/cases/%d", id) }
