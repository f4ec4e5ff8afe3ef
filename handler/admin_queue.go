package handler

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/model"
	"realname/service/clock"
	"realname/service/review"
)

var queueStates = []string{model.StateReview, review.StateAny, model.StateDraft, model.StateRecognized,
	model.StateChecking, model.StateVerified, model.StateRejected, model.StateExpired, model.StateErased}

// queueForm is the filter as typed, to fill the form again.
type queueForm struct {
	State, Reason, Provider, From, To, OpenID string
}

type queueData struct {
	Form     queueForm
	States   []string
	Items    []review.QueueItem
	NextURL  string
	ByNumber bool // the page answers an ID-number search
}

// queue is the review queue with its filters (GET: nothing personal in
// the URL but an openid).
func (p *adminPages) queue(c *gin.Context) {
	form := queueForm{State: c.Query("state"), Reason: c.Query("reason"), Provider: c.Query("provider"),
		From: c.Query("from"), To: c.Query("to"), OpenID: c.Query("openid")}
	if !slices.Contains(queueStates, form.State) {
		form.State = model.StateReview
	}
	f := review.QueueFilter{State: form.State, Reason: form.Reason, Provider: form.Provider, OpenID: form.OpenID}
	if t, err := time.ParseInLocation("2006-01-02", form.From, clock.China()); err == nil {
		f.From = t
	}
	if t, err := time.ParseInLocation("2006-01-02", form.To, clock.China()); err == nil {
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
	d := queueData{Form: form, States: queueStates, Items: page.Items}
	if page.Next != nil {
		q := c.Request.URL.Query()
		q.Set("after", page.Next.String())
		d.NextURL = "/admin/?" + q.Encode()
	}
	p.render(c, http.StatusOK, "admin_queue.html", "Queue", d)
}

// search finds cases by a full ID number. It is a POST so the number never
// sits in a URL, a browser history or a proxy log.
func (p *adminPages) search(c *gin.Context) {
	number := c.PostForm("id_number")
	if number == "" {
		c.Redirect(http.StatusSeeOther, "/admin/")
		return
	}
	page, err := p.review.Queue(c.Request.Context(), review.QueueFilter{State: review.StateAny, IDNumber: number, Limit: 200})
	if err != nil {
		p.fail(c, err)
		return
	}
	p.render(c, http.StatusOK, "admin_queue.html", "Search", queueData{Form: queueForm{State: review.StateAny},
		States: queueStates, Items: page.Items, ByNumber: true})
}

type dashboardData struct {
	review.Dashboard
	Tokens      []tokenRow
	TokensKnown bool
}

type tokenRow struct {
	AppID      string
	Cached     bool
	ExpiresIn  string
	RefreshDue string
}

func (p *adminPages) dashboard(c *gin.Context) {
	d, err := p.review.Dashboard(c.Request.Context())
	if err != nil {
		p.fail(c, err)
		return
	}
	data := dashboardData{Dashboard: d, TokensKnown: p.tokens != nil}
	if p.tokens != nil {
		now := time.Now()
		for _, s := range p.tokens.Status() {
			row := tokenRow{AppID: s.AppID, Cached: s.Cached}
			if s.Cached {
				row.ExpiresIn = s.ExpiresAt.Sub(now).Round(time.Second).String()
				row.RefreshDue = s.RefreshAt.Sub(now).Round(time.Second).String()
			}
			data.Tokens = append(data.Tokens, row)
		}
		slices.SortFunc(data.Tokens, func(a, b tokenRow) int { return strings.Compare(a.AppID, b.AppID) })
	}
	p.render(c, http.StatusOK, "admin_dashboard.html", "Dashboard", data)
}
