package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/face"
	"realname/service/store"
)

// Face modes (REALNAME_FACE): off; required, a face check instead of the
// paid name/ID check; fallback, a face check where the name/ID check would
// send the case to staff.
const (
	FaceOff      = "off"
	FaceRequired = "required"
	FaceFallback = "fallback"
)

// Face checks that the Mini Program user is the person a name and number
// belong to, against the authority's photo: a face.Provider (WeChat's
// 人脸核身, service/wechat.FaceProvider; a cloud face vendor fits the same).
type Face interface {
	Name() string
	Start(ctx context.Context, s face.Subject) (face.Ticket, error)
	Result(ctx context.Context, s face.Subject, t face.Ticket) (face.Result, error)
}

// Errors of the face check the API maps to codes.
var (
	ErrFaceOff             = errors.New("verify: face verification is not enabled")
	ErrFaceConsentRequired = errors.New("verify: consent to the face check's notice is required")
	ErrFaceNotStarted      = errors.New("verify: no face check was started for this verification")
	ErrFaceUnavailable     = errors.New("verify: the face check provider is unavailable")
)

// FaceView is the face step as the Mini Program sees it: the notice to
// agree to, the verify_id to pass to wx.requestFacialVerify, and what came
// of the last attempt.
type FaceView struct {
	ConsentVersion string     `json:"consent_version,omitempty"`
	VerifyID       string     `json:"verify_id,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	Last           string     `json:"last,omitempty"`  // outcome of the last attempt
	Cause          string     `json:"cause,omitempty"` // why it did not finish
}

// faceDecided is the face check that decides a case.
type faceDecided struct {
	id       int64
	ret      *int // the provider's code, when numeric (WeChat's verify_ret)
	outcome  string
	provider string
}

// faceFirst reports whether a submit in app goes to face_pending instead
// of the paid check: required mode, and no local rule decides the case.
func (s *Service) faceFirst(app string, local bool) bool {
	return s.faceMode(app) == FaceRequired && !local
}

// faceMode is the face mode of app: its own, else the service's; off
// without a provider.
func (s *Service) faceMode(app string) string {
	if s.face == nil {
		return FaceOff
	}
	if m, ok := s.policy.FaceByApp[app]; ok && m != "" {
		return m
	}
	return s.policy.Face
}

// faceMode is a verification's mode once a face check decided it.
func faceMode(mode string) string { return mode + "_face" }

// StartFace records the user's consent to the face check's notice (the
// version they agreed to; "" when they did before) and issues a verify_id
// for their verification waiting in face_pending. Each verify_id is one
// attempt, counted against the day's like a submit; a new call after a
// cancel or expiry issues a fresh one.
func (s *Service) StartFace(ctx context.Context, u User, consent string) (View, error) {
	if s.faceMode(u.AppID) == FaceOff {
		return View{}, ErrFaceOff
	}
	if err := s.faceConsent(ctx, u.ID, consent); err != nil {
		return View{}, err
	}
	latest, err := s.latest(ctx, u.ID)
	if err != nil {
		return View{}, err
	}
	if latest.State != store.FacePending {
		return View{}, fmt.Errorf("%w: %s", ErrInvalidState, latest.State)
	}
	name, num, _, err := s.submitted(&latest.Verification)
	if err != nil {
		return View{}, err
	}
	if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
		return View{}, err
	}
	undoID, err := s.spendIdentity(ctx, u.ID, num.Value)
	if err != nil {
		s.refund(ctx, "check", u.ID)
		return View{}, err
	}
	undo := func() { s.refund(ctx, "check", u.ID); undoID() }
	openID, err := s.store.OpenID(ctx, u.ID)
	if err != nil {
		undo()
		return View{}, err
	}
	ticket, err := s.face.Start(ctx, face.Subject{AppID: u.AppID, OpenID: openID, Name: name, IDNumber: num.Value})
	if err != nil {
		undo()
		return View{}, fmt.Errorf("%w: %w", ErrFaceUnavailable, err)
	}
	v, err := s.store.Step(ctx, latest.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		if cur.State != store.FacePending {
			return store.Change{}, fmt.Errorf("%w: %s", ErrInvalidState, cur.State)
		}
		if consent != "" {
			if err := s.store.RecordFaceConsent(ctx, u.ID, consent); err != nil {
				return store.Change{}, err
			}
		}
		vid := cur.ID
		if err := s.store.AddFaceCheck(ctx, &model.FaceCheck{VerificationID: &vid, AppID: u.AppID, OutSeqNo: ticket.SeqNo,
			VerifyID: ticket.VerifyID, Provider: s.face.Name(), ConsentVersion: s.policy.FaceConsentVersion, ExpiresAt: ticket.ExpiresAt}); err != nil {
			return store.Change{}, err
		}
		return store.Change{Event: "face_started", Actor: actorUser(u.ID),
			Data: map[string]any{"provider": s.face.Name(), "out_seq_no": ticket.SeqNo, "expires_at": ticket.ExpiresAt}}, nil
	})
	if err != nil {
		undo()
		return View{}, err
	}
	out, err := s.view(ctx, &v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	if out.Face != nil {
		out.Face.VerifyID, out.Face.ExpiresAt = ticket.VerifyID, &ticket.ExpiresAt
		out.Face.Last, out.Face.Cause = "", ""
	}
	return out, err
}

// faceConsent checks the consent to the face notice: given now (it must
// be the current version) or before.
func (s *Service) faceConsent(ctx context.Context, userID int64, version string) error {
	want := s.policy.FaceConsentVersion
	if version != "" {
		if version != want {
			return fmt.Errorf("%w: agreed to %q, current is %q", ErrFaceConsentRequired, version, want)
		}
		return nil
	}
	has, err := s.store.HasFaceConsent(ctx, userID, want)
	if err != nil {
		return err
	}
	if !has {
		return ErrFaceConsentRequired
	}
	return nil
}
