package handler

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"realname/model"
	"realname/service/review"
)

type caseData struct {
	review.Case
	Reasons  []string
	Mine     bool // the viewer holds the claim
	InReview bool
}

func (p *adminPages) showCase(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	cs, err := p.review.Case(c.Request.Context(), id)
	p.renderCase(c, cs, err)
}

// reveal shows the personal values and photos; the service audits it
// before anything is opened. The answer is the page itself (no redirect),
// so the values never sit behind a reloadable URL.
func (p *adminPages) reveal(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	cs, err := p.review.Reveal(c.Request.Context(), id, staffOf(c).AdminID)
	if errors.Is(err, review.ErrErased) {
		back(c, caseURL(id), "err", "erased")
		return
	}
	p.renderCase(c, cs, err)
}

func (p *adminPages) renderCase(c *gin.Context, cs review.Case, err error) {
	if errors.Is(err, review.ErrNotFound) {
		p.errorPage(c, http.StatusNotFound, "No such case.")
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	me := staffOf(c).AdminID
	d := caseData{Case: cs, Reasons: review.RejectReasons, InReview: cs.State == model.StateReview,
		Mine: cs.LiveClaimUntil != nil && cs.ClaimedBy != nil && *cs.ClaimedBy == me}
	p.render(c, http.StatusOK, "admin_case.html", "Case", d)
}

// photo streams one side's photo, decrypted, to a reviewer who revealed the
// case; never cached.
func (p *adminPages) photo(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	data, err := p.review.Photo(c.Request.Context(), id, staffOf(c).AdminID, c.Param("side"))
	switch {
	case errors.Is(err, review.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "No such photo.")
	case errors.Is(err, review.ErrRevealRequired):
		p.errorPage(c, http.StatusForbidden, "Reveal the case to see its photos.")
	case errors.Is(err, review.ErrPhotosGone):
		p.errorPage(c, http.StatusGone, "The photos are no longer retained.")
	case err != nil:
		p.fail(c, err)
	default:
		c.Header("Content-Disposition", "inline")
		c.Data(http.StatusOK, http.DetectContentType(data), data)
	}
}
