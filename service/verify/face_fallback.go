package verify

import (
	"context"
	"errors"
	"fmt"

	"realname/model"
	"realname/service/idcheck"
	"realname/service/store"
)

// faceSettles reports whether, in fallback mode, a face check is offered
// before a case goes to staff: the reasons a face check against the
// authority's photo can settle (no record there, the check vendors down
// or unsure). Other reviews (a minor, a number bound elsewhere, readings
// that disagree) keep their rules.
func (s *Service) faceSettles(app string, state store.State, reason string) bool {
	return s.faceMode(app) == FaceFallback && state == store.Review &&
		(reason == ReasonNoRecord || reason == ReasonSourceUnavailable)
}

// offerFace moves a checked case to face_pending instead of review,
// keeping the check's reason on the row: the case goes to staff with it
// if the user declines the face check.
func (s *Service) offerFace(ctx context.Context, u User, v *model.Verification, reason string, d idcheck.Decision) error {
	out, err := s.store.Step(ctx, v.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		if cur.State != store.Checking {
			return store.Change{}, fmt.Errorf("%w: %s", ErrInvalidState, cur.State)
		}
		if err := s.recordCheckAttempts(ctx, cur.ID, d); err != nil {
			return store.Change{}, err
		}
		return store.Change{To: store.FacePending, Event: "face_offered", Actor: actorUser(u.ID), Set: store.Patch{Reason: &reason},
			Data: verdict{check: d}.data(reason)}, nil
	})
	if err == nil {
		*v = out
	}
	return err
}

// DeclineFace sends a case the name/ID check could not settle to staff,
// when its user does not want a face check (fallback mode). In required
// mode there is no other way to decide: declining is refused.
func (s *Service) DeclineFace(ctx context.Context, u User) (View, error) {
	if s.faceMode(u.AppID) == FaceOff {
		return View{}, ErrFaceOff
	}
	v, err := s.store.StepLatest(ctx, u.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		if cur.State != store.FacePending || cur.Reason == "" {
			return store.Change{}, fmt.Errorf("%w: %s", ErrInvalidState, cur.State)
		}
		return store.Change{To: store.Review, Event: "face_declined", Actor: actorUser(u.ID), Hook: HookReviewRequired,
			Data: map[string]any{"reason": cur.Reason}}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return View{}, ErrNoVerification
	}
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, &v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
}
