package handler

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/verify"
)

// ServerStepUps is what the server API needs for step-ups (verify.Service).
type ServerStepUps interface {
	CreateStepUp(ctx context.Context, subj verify.Subject, defaultApp, action string, ttl time.Duration, actor string) (verify.StepUpView, error)
	ServerStepUp(ctx context.Context, id, within string) (verify.StepUpView, error)
}

// UserStepUps is what the Mini Program's step-up routes need (verify.Service).
type UserStepUps interface {
	UserStepUp(ctx context.Context, u verify.User, id string) (verify.StepUpView, error)
	StartStepUpFace(ctx context.Context, u verify.User, id, consent string) (verify.StepUpView, error)
	StepUpResult(ctx context.Context, u verify.User, id string) (verify.StepUpView, error)
}

// Codes of step-ups.
const (
	CodeStepUpNotFound = "stepup_not_found"
	CodeStepUpFinished = "stepup_finished"
)

type stepUpRequest struct {
	Action string `json:"action"`
	TTL    string `json:"ttl"`
}

// createStepUp asks a verified user for a face check before an action.
func (s *serverAPI) createStepUp(c *gin.Context) {
	subj, ok := subject(c)
	if !ok {
		return
	}
	var req stepUpRequest
	if !bindJSON(c, &req) {
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || len(req.TTL) > 16 {
			renderError(s.d.Log, c, verify.ErrStepUpTTL)
			return
		}
		ttl = d
	}
	steps, ok := s.Verifications.(ServerStepUps)
	if !ok {
		renderError(s.d.Log, c, verify.ErrFaceOff)
		return
	}
	actor := "apikey:" + strconv.FormatInt(serverKey(c).ID, 10)
	v, err := steps.CreateStepUp(c.Request.Context(), subj, s.d.DefaultAppID, req.Action, ttl, actor)
	if err != nil {
		renderError(s.d.Log, c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

// stepUp answers a step-up's state to the business system.
func (s *serverAPI) stepUp(c *gin.Context) {
	steps, ok := s.Verifications.(ServerStepUps)
	if !ok {
		renderError(s.d.Log, c, verify.ErrFaceOff)
		return
	}
	v, err := steps.ServerStepUp(c.Request.Context(), c.Param("id"), serverKey(c).Within())
	if err != nil {
		renderError(s.d.Log, c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// userStepUp, startStepUpFace and stepUpResult are the Mini Program's side.
func (a *api) userStepUp(c *gin.Context) {
	a.answerStepUp(c, func(f UserStepUps) (verify.StepUpView, error) {
		return f.UserStepUp(c.Request.Context(), caller(c), c.Param("id"))
	})
}

func (a *api) startStepUpFace(c *gin.Context) {
	var req faceRequest
	if !bindJSON(c, &req) {
		return
	}
	a.answerStepUp(c, func(f UserStepUps) (verify.StepUpView, error) {
		return f.StartStepUpFace(c.Request.Context(), caller(c), c.Param("id"), req.ConsentVersion)
	})
}

func (a *api) stepUpResult(c *gin.Context) {
	var req struct{}
	if !bindJSON(c, &req) {
		return
	}
	a.answerStepUp(c, func(f UserStepUps) (verify.StepUpView, error) {
		return f.StepUpResult(c.Request.Context(), caller(c), c.Param("id"))
	})
}

func (a *api) answerStepUp(c *gin.Context, call func(UserStepUps) (verify.StepUpView, error)) {
	f, ok := a.verify.(UserStepUps)
	if !ok {
		a.renderError(c, verify.ErrFaceOff)
		return
	}
	v, err := call(f)
	if err != nil {
		a.renderError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}
