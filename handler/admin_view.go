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
)

// adminView is what every admin page gets: the signed-in staff member, the
// CSRF field for its forms, a flash message and the page's own data.
type adminView struct {
	Title    string
	User     admin.Session
	SignedIn bool
	CSRF     template.HTML // the hidden input every form carries
	CSS, JS  string
	Flash    string
	Problem  string
	Data     any
}

// flashes are the messages a redirect may ask for, by code; a code is all
// the URL carries, so no text can be injected.
var flashes = map[string]string{
	"claimed": "You hold this case now.", "released": "Claim released.", "approved": "Approved: the case is verified.",
	"approval_requested": "First approval recorded. A second reviewer must confirm it.", "rejected": "Rejected.",
	"resubmit": "Rejected: the user is asked to submit again.", "account_created": "Account created.",
	"account_changed": "Account updated.", "endpoint_changed": "Endpoint updated.", "replayed": "Delivery queued again.",
}

// problems are the error messages a redirect may ask for, by code.
var problems = map[string]string{
	"claimed_by_other": "Another reviewer holds this case. Wait until their claim ends or they release it.",
	"not_claimed":      "Claim the case before deciding it.",
	"not_in_review":    "The case is no longer in review: it was decided or changed meanwhile.",
	"same_reviewer":    "You gave the first approval. A different reviewer must confirm it.",
	"unknown_reason":   "Pick a reason code for the rejection.",
	"erased":           "The user erased their personal data; the case can no longer be revealed or decided.",
	"self_disable":     "You cannot disable your own account.",
}

// render executes a view into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (p *adminPages) render(c *gin.Context, status int, name, title string, data any) {
	v := adminView{Title: title, CSRF: csrf.TemplateField(c.Request), CSS: p.css, JS: p.js, Data: data,
		Flash: flashes[c.Query("done")], Problem: problems[c.Query("err")]}
	if s, ok := c.Get(adminSessionKey); ok {
		v.User, v.SignedIn = s.(admin.Session), true
	}
	var buf bytes.Buffer
	if err := p.templates.ExecuteTemplate(&buf, name, v); err != nil {
		p.log.Error("render admin page", "view", name, "err", err)
		p.errorPage(c, http.StatusInternalServerError, "This page could not be shown.")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorPage ends the request with a plain error page.
func (p *adminPages) errorPage(c *gin.Context, status int, msg string) {
	p.writeError(c.Writer, status, msg)
	c.Abort()
}

func (p *adminPages) writeError(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	if err := p.templates.ExecuteTemplate(&buf, "admin_error.html", adminView{Title: http.StatusText(status), CSS: p.css, Problem: msg}); err != nil {
		http.Error(w, msg, status)
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
		p.errorPage(c, http.StatusServiceUnavailable, "The database or Redis is unavailable right now. Retry in a moment. Request id: "+requestIDFrom(c))
		return
	}
	p.log.Error("admin page failed", "request_id", requestIDFrom(c), "route", c.FullPath(), "err", err)
	p.errorPage(c, http.StatusInternalServerError, "Something went wrong. Request id: "+requestIDFrom(c))
}

// pathID parses the :id parameter; a bad one is a 404.
func (p *adminPages) pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		p.errorPage(c, http.StatusNotFound, "No such page.")
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
