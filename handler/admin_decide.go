package handler

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"realname/service/review"
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
		p.errorPage(c, http.StatusNotFound, "No such case.")
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
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	out, err := p.review.Approve(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("note"))
	done := "approved"
	if out.Pending {
		done = "approval_requested"
	}
	p.decided(c, id, done, err)
}

func (p *adminPages) reject(c *gin.Context) {
	if id, ok := p.pathID(c); ok {
		_, err := p.review.Reject(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("reason"), c.PostForm("note"))
		p.decided(c, id, "rejected", err)
	}
}

func (p *adminPages) resubmit(c *gin.Context) {
	if id, ok := p.pathID(c); ok {
		_, err := p.review.RequestResubmit(c.Request.Context(), id, staffOf(c).AdminID, c.PostForm("note"))
		p.decided(c, id, "resubmit", err)
	}
}
