package handler

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"realname/service/review"
	"realname/service/store"
)

// decisionProblem names, for the case page, why a claim or decision was
// refused; "" means the error is unexpected.
func decisionProblem(err error) string {
	var claimed *review.ClaimedError
	switch {
	case errors.As(err, &claimed):
		return "claimed_by_other"
	case errors.Is(err, review.ErrNotClaimed):
		return "not_claimed"
	case errors.Is(err, review.ErrErased):
		return "erased"
	case errors.Is(err, review.ErrInvalidState):
		return "not_in_review"
	case errors.Is(err, review.ErrSameReviewer):
		return "same_reviewer"
	case errors.Is(err, review.ErrUnknownReason):
		return "unknown_reason"
	}
	return ""
}

// decided redirects back to the case with what happened.
func (p *adminPages) decided(c *gin.Context, id int64, done string, err error) {
	switch {
	case err == nil:
		back(c, caseURL(id), "done", done)
	case errors.Is(err, review.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "error.no_case")
	case decisionProblem(err) != "":
		back(c, caseURL(id), "err", decisionProblem(err))
	default:
		p.fail(c, err)
	}
}

func (p *adminPages) claim(c *gin.Context) {
	if id, ok := p.pathID(c); ok {
		p.decided(c, id, "claimed", p.review.Claim(c.Request.Context(), id, staffOf(c).AdminID))
	}
}

func (p *adminPages) release(c *gin.Context) {
	if id, ok := p.pathID(c); ok {
		p.decided(c, id, "released", p.review.Release(c.Request.Context(), id, staffOf(c).AdminID))
	}
}

func (p *adminPages) approve(c *gin.Context) {
	id, ok := p.decision(c, "approve")
	if !ok {
		return
	}
	out, err := p.review.Approve(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("note"))
	done := "approved"
	if out.Pending {
		done = "approval_requested"
	}
	p.decidedNext(c, id, done, err)
}

func (p *adminPages) reject(c *gin.Context) {
	if id, ok := p.decision(c, "reject"); ok {
		_, err := p.review.Reject(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("reason"), c.PostForm("note"))
		p.decidedNext(c, id, "rejected", err)
	}
}

func (p *adminPages) resubmit(c *gin.Context) {
	if id, ok := p.decision(c, "resubmit"); ok {
		_, err := p.review.RequestResubmit(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("note"))
		p.decidedNext(c, id, "resubmit", err)
	}
}

// decision lets a decision through only when its form says the reviewer
// confirmed it (confirm=1, which the page's dialog adds). Otherwise the
// case page comes back with the decision to confirm: no decision is ever
// a single click, with or without the script.
func (p *adminPages) decision(c *gin.Context, action string) (int64, bool) {
	id, ok := p.pathID(c)
	if !ok {
		return 0, false
	}
	if c.PostForm("confirm") == "1" {
		return id, true
	}
	if action == "reject" && !slices.Contains(review.RejectReasons, c.PostForm("reason")) {
		back(c, caseURL(id), "err", "unknown_reason")
		return 0, false
	}
	cs, err := p.review.CaseFor(c.Request.Context(), id, staffOf(c).AdminID)
	p.renderCase(c, cs, err, &confirmStep{Action: action, Reason: c.PostForm("reason"), Note: c.PostForm("note")})
	return 0, false
}

// decidedNext is decided, but a decision that went through moves on to
// the next case waiting in review that nobody else holds.
func (p *adminPages) decidedNext(c *gin.Context, id int64, done string, err error) {
	if err != nil {
		p.decided(c, id, done, err)
		return
	}
	if next := p.nextCase(c, id); next != 0 {
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("%s?done=%s&prev=%d", caseURL(next), done, id))
		return
	}
	back(c, "/admin/", "done", done)
}

// nextCase is the case waiting longest in review, other than id, that
// nobody but the viewer holds; 0 when there is none.
func (p *adminPages) nextCase(c *gin.Context, id int64) int64 {
	page, err := p.review.Queue(c.Request.Context(), review.QueueFilter{State: string(store.Review), Limit: 50})
	if err != nil {
		p.log.Warn("admin: next case", "err", err)
		return 0
	}
	me := staffOf(c).Username
	for _, it := range page.Items {
		if it.ID != id && (it.ClaimedBy == "" || it.ClaimedBy == me) {
			return it.ID
		}
	}
	return 0
}
