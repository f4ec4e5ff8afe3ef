package handler

import (
	"context"

	"github.com/gin-gonic/gin"

	"realname/service/verify"
)

// FaceVerifier is the face step of the flow (verify.Service), mounted
// beside the verification routes.
type FaceVerifier interface {
	StartFace(ctx context.Context, u verify.User, consent string) (verify.View, error)
	FaceResult(ctx context.Context, u verify.User) (verify.View, error)
	DeclineFace(ctx context.Context, u verify.User) (verify.View, error)
}

// Codes of the face step.
const (
	CodeFaceNotEnabled      = "face_not_enabled"
	CodeFaceConsentRequired = "face_consent_required"
	CodeFaceNotStarted      = "face_not_started"
	CodeFaceUnavailable     = "face_unavailable"
)

type faceRequest struct {
	ConsentVersion string `json:"consent_version"`
}

// startFace records the consent to the face notice and issues a verify_id.
func (a *api) startFace(c *gin.Context) {
	var req faceRequest
	if !bindJSON(c, &req) {
		return
	}
	a.answerFace(c, func(f FaceVerifier) (verify.View, error) {
		return f.StartFace(c.Request.Context(), caller(c), req.ConsentVersion)
	})
}

// faceResult asks what came of the face check and decides.
func (a *api) faceResult(c *gin.Context) {
	var req struct{}
	if !bindJSON(c, &req) {
		return
	}
	a.answerFace(c, func(f FaceVerifier) (verify.View, error) { return f.FaceResult(c.Request.Context(), caller(c)) })
}

// declineFace sends the case to staff instead (fallback mode).
func (a *api) declineFace(c *gin.Context) {
	var req struct{}
	if !bindJSON(c, &req) {
		return
	}
	a.answerFace(c, func(f FaceVerifier) (verify.View, error) { return f.DeclineFace(c.Request.Context(), caller(c)) })
}

func (a *api) answerFace(c *gin.Context, call func(FaceVerifier) (verify.View, error)) {
	f, ok := a.verify.(FaceVerifier)
	if !ok {
		a.renderError(c, verify.ErrFaceOff)
		return
	}
	view, err := call(f)
	if err != nil {
		a.renderError(c, err)
		return
	}
	a.answerView(c, view)
}
