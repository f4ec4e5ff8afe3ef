package handler

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/review"
	"realname/service/store"
)

var queueStates = []string{string(store.Review), review.StateAny, string(store.Draft), string(store.Recognized),
	string(store.Checking), string(store.FacePending), string(store.Verified), string(store.Rejected), string(store.Expired), string(store.Erased), string(store.Revoked)}

// queueForm is the filter as typed, to fill the form again.
type queueForm struct {
	State, Reason, Provider, From, To, OpenID string
}

type queueData struct {
	Form     queueForm
	States   []string
	Items    []queueRow
	NextURL  string
	ByNumber bool // the page answers an ID-number search
	SLA      time.Duration
	Now      time.Time
	Reasons  []string // every reason code the catalogs have words for, for the filter
}

// queueRow is a case with how long it has waited and its SLA mark.
type queueRow struct {
	review.QueueItem
	Waiting time.Duration // in review this long (a state's start is its last change)
	SLA     string        // "", "due" (three quarters used) or "overdue"
}

// queueData is a page of the queue as of now: its rows against the SLA,
// the filter as typed and the filter's choices.
func (p *adminPages) queueData(form queueForm, items []review.QueueItem) queueData {
	now := p.clock.Now()
	return queueData{Form: form, States: queueStates, Items: p.rows(items, now), SLA: p.sla, Now: now, Reasons: p.reasons}
}

// rows marks each case in review with its wait against the SLA.
func (p *adminPages) rows(items []review.QueueItem, now time.Time) []queueRow {
	out := make([]queueRow, len(items))
	for i, it := range items {
		out[i] = queueRow{QueueItem: it}
		if it.State != string(store.Review) {
			continue
		}
		out[i].Waiting = now.Sub(it.UpdatedAt)
		switch {
		case out[i].Waiting >= p.sla:
			out[i].SLA = "overdue"
		case out[i].Waiting >= p.sla*3/4:
			out[i].SLA = "due"
		}
	}
	return out
}

// queue is the review queue with its filters (GET: nothing personal in
// the URL but an openid).
func (p *adminPages) queue(c *gin.Context) {
	form := queueForm{State: c.Query("state"), Reason: c.Query("reason"), Provider: c.Query("provider"),
		From: c.Query("from"), To: c.Query("to"), OpenID: c.Query("openid")}
	if !slices.Contains(queueStates, form.State) {
		form.State = string(store.Review)
	}
	f := review.QueueFilter{State: form.State, Reason: form.Reason, Provider: form.Provider, OpenID: form.OpenID}
	if t, err := time.ParseInLocation("2006-01-02", form.From, p.catalog.Zone()); err == nil {
		f.From = t
	}
	if t, err := time.ParseInLocation("2006-01-02", form.To, p.catalog.Zone()); err == nil {
		f.To = t.AddDate(0, 0, 1) // the whole "to" day
	}
	if cur, err := review.ParseCursor(c.Query("after")); err == nil {
		f.After = &cur
	}
	page, err := p.review.Queue(c.Request.Context(), f)
	if err != nil {
		p.fail(c, err)
		return
	}
	d := p.queueData(form, page.Items)
	if page.Next != nil {
		q := c.Request.URL.Query()
		q.Set("after", page.Next.String())
		d.NextURL = "/admin/?" + q.Encode()
	}
	p.render(c, http.StatusOK, "admin_queue.html", "queue.title", d)
}

// search finds cases by a full ID number, audited (the number's keyed
// hash). It is a POST so the number never sits in a URL, a browser history
// or a proxy log.
func (p *adminPages) search(c *gin.Context) {
	number := c.PostForm("id_number")
	if number == "" {
		c.Redirect(http.StatusSeeOther, "/admin/")
		return
	}
	page, err := p.review.SearchNumber(c.Request.Context(), staffOf(c).AdminID, number)
	if err != nil {
		p.fail(c, err)
		return
	}
	d := p.queueData(queueForm{State: review.StateAny}, page.Items)
	d.ByNumber = true
	p.render(c, http.StatusOK, "admin_queue.html", "queue.search_title", d)
}
