package verify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"realname/model"
	"realname/service/face"
	"realname/service/store"
)

// Step-up webhook events.
const (
	HookStepUpPassed = "stepup.passed"
	HookStepUpFailed = "stepup.failed"
)

// Step-up limits: how long one may wait for its user.
const (
	StepUpDefaultTTL = 10 * time.Minute
	stepUpMinTTL     = time.Minute
	stepUpMaxTTL     = 24 * time.Hour
)

// actionCode is what a business system names its action with: a code,
// not free text (it reaches webhooks and the audit trail as it is).
var actionCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,63}$`)

// Errors of step-ups.
var (
	ErrStepUpAction   = errors.New("verify: action must be a code of 1 to 64 of a-z 0-9 _ . : -")
	ErrStepUpTTL      = errors.New("verify: ttl must be between 1m and 24h")
	ErrNoStepUp       = store.ErrNoStepUp
	ErrStepUpFinished = errors.New("verify: the step-up is no longer pending")
)

// StepUpCounter counts step-ups by what happened to them (created,
// passed, failed, expired): realname_stepups_total{state}.
func StepUpCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realname_stepups_total",
		Help: "Step-ups (a face check of a verified user before a sensitive action), by what happened: created, passed, failed, expired."}, []string{"state"})
	for _, state := range []string{"created", store.StepUpPassed, store.StepUpFailed, store.StepUpExpired} {
		c.WithLabelValues(state) // exported at zero from the start
	}
	return c
}

func (s *Service) countStepUp(state string) {
	if s.stepUps != nil {
		s.stepUps.WithLabelValues(state).Inc()
	}
}

// StepUpView is a step-up as the APIs answer it.
type StepUpView struct {
	ID          string     `json:"id"`
	State       string     `json:"state"` // pending, passed, failed, expired
	Action      string     `json:"action"`
	Reason      string     `json:"reason,omitempty"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	OpenID      string     `json:"openid,omitempty"` // for the business system
	// Face is the face step, for the Mini Program while it is pending.
	Face *FaceView `json:"face,omitempty"`
}

func stepUpView(su model.StepUp) StepUpView {
	return StepUpView{ID: su.PublicID, State: su.State, Action: su.Action, Reason: su.Reason, ExpiresAt: su.ExpiresAt, CompletedAt: su.CompletedAt}
}

// CreateStepUp asks a verified user to prove, by a face check, that they
// are the holder before action (a business system's code). It answers
// ErrNotVerified when the user's latest verification is not verified.
func (s *Service) CreateStepUp(ctx context.Context, subj Subject, defaultApp, action string, ttl time.Duration, actor string) (StepUpView, error) {
	if !actionCode.MatchString(action) {
		return StepUpView{}, ErrStepUpAction
	}
	if ttl == 0 {
		ttl = StepUpDefaultTTL
	}
	if ttl < stepUpMinTTL || ttl > stepUpMaxTTL {
		return StepUpView{}, ErrStepUpTTL
	}
	u, err := s.subjectUser(ctx, subj, defaultApp)
	if err != nil {
		return StepUpView{}, err
	}
	if s.faceMode(u.AppID) == FaceOff {
		return StepUpView{}, ErrFaceOff
	}
	su := model.StepUp{PublicID: store.NewStepUpID(), UserID: u.ID, AppID: u.AppID, Action: action, State: store.StepUpPending,
		CreatedBy: actor, ExpiresAt: s.now().Add(ttl)}
	_, err = s.store.StepLatest(ctx, u.ID, func(ctx context.Context, v *model.Verification) (store.Change, error) {
		if v.State != store.Verified {
			return store.Change{}, fmt.Errorf("%w (it is %s)", ErrNotVerified, v.State)
		}
		su.VerificationID = v.ID
		if err := s.store.AddStepUp(ctx, &su); err != nil {
			return store.Change{}, err
		}
		return store.Change{Event: "stepup_created", Actor: actor, Data: map[string]any{"stepup": su.PublicID, "action": action, "expires_at": su.ExpiresAt}}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return StepUpView{}, fmt.Errorf("%w (no verification)", ErrNotVerified)
	}
	if err != nil {
		return StepUpView{}, err
	}
	s.countStepUp("created")
	out := stepUpView(su)
	out.OpenID = u.OpenID
	return out, nil
}

// ServerStepUp is step-up id as a business system reads it; within limits
// it to one app ("" for an all-apps key).
func (s *Service) ServerStepUp(ctx context.Context, id, within string) (StepUpView, error) {
	su, err := s.current(ctx, id)
	if err != nil {
		return StepUpView{}, err
	}
	if within != "" && su.AppID != within {
		return StepUpView{}, ErrNoStepUp
	}
	out := stepUpView(su)
	if out.OpenID, err = s.store.OpenID(ctx, su.UserID); err != nil {
		return StepUpView{}, err
	}
	return out, nil
}

// UserStepUp is step-up id as its own user reads it in the Mini Program.
func (s *Service) UserStepUp(ctx context.Context, u User, id string) (StepUpView, error) {
	su, err := s.mine(ctx, u, id)
	if err != nil {
		return StepUpView{}, err
	}
	return s.stepUpFor(ctx, su)
}

// mine reads the user's own step-up, expired on the way when its time is
// up; anyone else's is ErrNoStepUp.
func (s *Service) mine(ctx context.Context, u User, id string) (model.StepUp, error) {
	su, err := s.current(ctx, id)
	if err != nil {
		return su, err
	}
	if su.UserID != u.ID {
		return su, ErrNoStepUp
	}
	return su, nil
}

// current reads a step-up and ends it as expired when its time is up.
func (s *Service) current(ctx context.Context, id string) (model.StepUp, error) {
	if len(id) > 40 {
		return model.StepUp{}, ErrNoStepUp
	}
	su, err := s.store.StepUp(ctx, id)
	if err != nil || su.State != store.StepUpPending || s.now().Before(su.ExpiresAt) {
		return su, err
	}
	if err := s.endStepUp(ctx, &su, store.StepUpExpired, "", "", nil); err != nil {
		return su, err
	}
	return s.store.StepUp(ctx, id)
}

// stepUpFor adds the face step to a pending step-up's view.
func (s *Service) stepUpFor(ctx context.Context, su model.StepUp) (StepUpView, error) {
	out := stepUpView(su)
	if su.State != store.StepUpPending {
		return out, nil
	}
	out.Face = &FaceView{ConsentVersion: s.policy.FaceConsentVersion}
	fc, err := s.store.LatestStepUpFaceCheck(ctx, su.ID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	fillFace(out.Face, fc, s.now())
	return out, nil
}

// endStepUp settles su on its verification's chain: the audit event and,
// for passed or failed, the webhook event.
func (s *Service) endStepUp(ctx context.Context, su *model.StepUp, state, reason, actor string, decided *faceDecided) error {
	at := s.now()
	hook := map[string]string{store.StepUpPassed: HookStepUpPassed, store.StepUpFailed: HookStepUpFailed}[state]
	if actor == "" {
		actor = "system"
	}
	_, err := s.store.Step(ctx, su.VerificationID, func(ctx context.Context, v *model.Verification) (store.Change, error) {
		ok, err := s.store.SettleStepUp(ctx, su.ID, state, reason, at)
		if err != nil || !ok {
			if err == nil {
				err = ErrStepUpFinished
			}
			return store.Change{}, err
		}
		if decided != nil {
			if err := s.store.SettleFaceCheck(ctx, decided.id, decided.ret, decided.outcome); err != nil {
				return store.Change{}, err
			}
		}
		c := store.Change{Event: "stepup_" + state, Actor: actor, Data: map[string]any{"stepup": su.PublicID, "action": su.Action, "reason": reason}}
		if hook != "" {
			c.Hook = hook
			c.HookData = s.stepUpPayload(ctx, su, state, reason, at)
		}
		return c, nil
	})
	if errors.Is(err, ErrStepUpFinished) {
		return nil // another call ended it first
	}
	if err == nil {
		s.countStepUp(state)
	}
	return err
}

// stepUpPayload is what business systems receive about a step-up.
func (s *Service) stepUpPayload(ctx context.Context, su *model.StepUp, state, reason string, at time.Time) map[string]any {
	openID, _ := s.store.OpenID(ctx, su.UserID)
	return map[string]any{"stepup_id": su.PublicID, "appid": su.AppID, "openid": openID, "action": su.Action, "state": state,
		"reason": reason, "verification_id": su.VerificationID, "final": true, "at": at}
}

// faceSubject opens the identity of the verified verification a step-up
// checks: the person types nothing.
func (s *Service) faceSubject(ctx context.Context, su model.StepUp) (face.Subject, error) {
	v, err := s.store.Get(ctx, su.VerificationID)
	if err != nil {
		return face.Subject{}, err
	}
	name, num, _, err := s.submitted(&v)
	if err != nil {
		return face.Subject{}, err
	}
	openID, err := s.store.OpenID(ctx, su.UserID)
	if err != nil {
		return face.Subject{}, err
	}
	return face.Subject{AppID: su.AppID, OpenID: openID, Name: name, IDNumber: num.Value}, nil
}
