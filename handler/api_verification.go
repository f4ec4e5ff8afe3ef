package handler

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"realname/service/ocr"
	"realname/service/session"
	"realname/service/verify"
	"realname/service/wording"
)

// Verifier is the verification flow as the API uses it.
type Verifier interface {
	Upload(ctx context.Context, u verify.User, in verify.UploadInput) (verify.View, error)
	Submit(ctx context.Context, u verify.User, c verify.Claim) (verify.View, error)
	Check(ctx context.Context, u verify.User, c verify.Claim) (verify.View, error)
	Current(ctx context.Context, u verify.User) (verify.View, error)
	Erase(ctx context.Context, u verify.User) error
}

type claimRequest struct {
	Name           string `json:"name"`
	IDNumber       string `json:"id_number"`
	ConsentVersion string `json:"consent_version"`
	Confirm        bool   `json:"confirm"`
}

// answerView sends view with its message in the caller's language
// (Accept-Language; Chinese unless English is preferred).
func (a *api) answerView(c *gin.Context, view verify.View) {
	lang := wording.FromAcceptLanguage(c.GetHeader("Accept-Language"))
	view.Message = wording.Status(lang, view.State, view.Reason, view.NextAction, view.Warnings...)
	if view.Face != nil {
		why := view.Face.Cause
		if why == "" && view.Face.Last != "" && view.Face.Last != "not_finished" {
			why = view.Face.Last
		}
		if words := wording.FaceCause(lang, why); words != "" {
			view.Message = words + faceSep(lang) + view.Message
		}
	}
	c.JSON(http.StatusOK, view)
}

func caller(c *gin.Context) verify.User {
	info := c.MustGet(sessionInfoKey).(session.Info)
	return verify.User{ID: info.UserID, AppID: info.AppID}
}

func (a *api) uploadIDCard(c *gin.Context) {
	fh, err := c.FormFile("image")
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the photo is too large")
		case errors.Is(err, http.ErrNotMultipart), errors.Is(err, http.ErrMissingBoundary):
			abortWithError(c, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "send the photo as multipart/form-data field image")
		default:
			abortWithError(c, http.StatusBadRequest, CodeImageRequired, "multipart field image is required")
		}
		return
	}
	f, err := fh.Open()
	if err != nil {
		a.renderError(c, err)
		return
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		a.renderError(c, err)
		return
	}
	side := ocr.Side(c.PostForm("side"))
	if side != ocr.SideAuto && side != ocr.SideFront && side != ocr.SideBack {
		abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "side must be front or back (or left out)")
		return
	}
	view, err := a.verify.Upload(c.Request.Context(), caller(c), verify.UploadInput{Image: data, Side: side, Consent: c.PostForm("consent_version")})
	if err != nil {
		a.renderErrorWith(c, err, view.Attempts)
		return
	}
	a.answerView(c, view)
}

func (a *api) submit(c *gin.Context) {
	var req claimRequest
	if !bindJSON(c, &req) {
		return
	}
	view, err := a.verify.Submit(c.Request.Context(), caller(c), verify.Claim{Name: req.Name, IDNumber: req.IDNumber, Consent: req.ConsentVersion, Confirm: req.Confirm})
	if err != nil {
		a.renderError(c, err)
		return
	}
	a.answerView(c, view)
}

func (a *api) check(c *gin.Context) {
	var req claimRequest
	if !bindJSON(c, &req) {
		return
	}
	view, err := a.verify.Check(c.Request.Context(), caller(c), verify.Claim{Name: req.Name, IDNumber: req.IDNumber, Consent: req.ConsentVersion})
	if err != nil {
		a.renderError(c, err)
		return
	}
	a.answerView(c, view)
}

func (a *api) current(c *gin.Context) {
	view, err := a.verify.Current(c.Request.Context(), caller(c))
	if err != nil {
		a.renderError(c, err)
		return
	}
	a.answerView(c, view)
}

func (a *api) erase(c *gin.Context) {
	if err := a.verify.Erase(c.Request.Context(), caller(c)); err != nil {
		a.renderError(c, err)
		return
	}
	// The stored answers of earlier requests held the erased data too
	// (masked, but the user asked for all of it to go).
	if a.idem != nil {
		if err := a.idem.Erase(c.Request.Context(), strconv.FormatInt(caller(c).ID, 10)); err != nil {
			a.renderError(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func faceSep(l wording.Lang) string {
	if l == wording.English {
		return ". "
	}
	return "。"
}
