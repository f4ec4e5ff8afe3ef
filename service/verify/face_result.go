package verify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"realname/model"
	"realname/service/face"
	"realname/service/store"
)

// FaceResult asks the provider what came of the user's last face check
// and decides: passed → verified (the mode records that a face decided
// it; a number bound to another account still goes to review); a name and
// number that do not belong together, or another face → rejected; no
// photo at the authority → review. A check still being compared, or one
// the user did not finish, leaves the case waiting in face_pending. It is
// idempotent: a case already decided is answered as it stands, and of
// two calls at once one decides.
func (s *Service) FaceResult(ctx context.Context, u User) (View, error) {
	if s.faceMode(u.AppID) == FaceOff {
		return View{}, ErrFaceOff
	}
	latest, err := s.latest(ctx, u.ID)
	if err != nil {
		return View{}, err
	}
	if latest.State != store.FacePending {
		return s.Current(ctx, u) // decided already: answered as it stands
	}
	fc, err := s.store.LatestFaceCheck(ctx, latest.ID)
	if errors.Is(err, store.ErrNotFound) {
		return View{}, ErrFaceNotStarted
	}
	if err != nil {
		return View{}, err
	}
	left := func() int { return s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay) }
	if fc.Outcome != "" || !s.now().Before(fc.ExpiresAt) {
		// This attempt is over (expired, or settled as not finished): a
		// new verify_id is the way on.
		if fc.Outcome == "" {
			if err := s.store.SettleFaceCheck(ctx, fc.ID, nil, "expired"); err != nil {
				return View{}, err
			}
		}
		// Read again: another call may have settled this check with a
		// decision since the verification was read above.
		return s.Current(ctx, u)
	}
	name, num, _, err := s.submitted(&latest.Verification)
	if err != nil {
		return View{}, err
	}
	openID, err := s.store.OpenID(ctx, u.ID)
	if err != nil {
		return View{}, err
	}
	subject := face.Subject{AppID: fc.AppID, OpenID: openID, Name: name, IDNumber: num.Value}
	ticket := face.Ticket{Provider: fc.Provider, VerifyID: fc.VerifyID, SeqNo: fc.OutSeqNo, ExpiresAt: fc.ExpiresAt}
	answer, err := s.face.Result(ctx, subject, ticket)
	if errors.Is(err, face.ErrInvalidTicket) {
		// The provider no longer knows this check (expired, or spent): a
		// new one is the way on.
		if err := s.store.SettleFaceCheck(ctx, fc.ID, nil, "expired"); err != nil {
			return View{}, err
		}
		return s.Current(ctx, u)
	}
	if err != nil {
		return View{}, fmt.Errorf("%w: %w", ErrFaceUnavailable, err)
	}
	ret := faceCode(answer.Code)
	decided := &faceDecided{id: fc.ID, ret: ret, outcome: string(answer.Outcome), provider: fc.Provider}
	d := verdict{actor: actorUser(u.ID), num: num, face: decided}
	switch answer.Outcome {
	case face.OutcomePassed:
		d.state = store.Verified
	case face.OutcomeIdentityMismatch:
		d.state, d.reason = store.Rejected, ReasonFaceIDMismatch
	case face.OutcomeFaceMismatch:
		d.state, d.reason = store.Rejected, ReasonFaceMismatch
	case face.OutcomeNoRecord:
		d.state, d.reason = store.Review, ReasonNoRecord
	case face.OutcomePending, face.OutcomeRateLimited:
		out, err := s.view(ctx, &latest.Verification, left())
		out.NextAction = NextFaceResult
		return out, err
	case face.OutcomeConfigError:
		// Our request or the app's permission is wrong: no decision, and
		// no retry helps until the integration is fixed.
		s.log.Error("the face provider refused the request as misconfigured", "provider", fc.Provider, "code", answer.Code)
		return View{}, fmt.Errorf("%w: %s answered %s", ErrFaceUnavailable, fc.Provider, answer.Code)
	default: // not finished, failed, repeated without a stored answer: this check is spent
		outcome := string(answer.Outcome)
		if answer.Cause != face.CauseNone {
			outcome += ":" + string(answer.Cause)
		}
		if err := s.store.SettleFaceCheck(ctx, fc.ID, ret, outcome); err != nil {
			return View{}, err
		}
		return s.Current(ctx, u)
	}
	if err := s.finish(ctx, &latest, d); err != nil {
		if errors.Is(err, ErrInvalidState) {
			return s.Current(ctx, u) // the other call decided first
		}
		return View{}, err
	}
	return s.view(ctx, &latest.Verification, left())
}

// Reasons a face check gives.
const (
	ReasonFaceIDMismatch = "face_id_mismatch" // the authority says name and number do not belong together
	ReasonFaceMismatch   = "face_mismatch"    // the face is not the holder's
)

// faceView fills the face step of a view of v waiting in face_pending:
// the notice to agree to and what came of the last attempt.
func (s *Service) faceView(ctx context.Context, v *model.Verification, out *View) error {
	out.Face = &FaceView{ConsentVersion: s.policy.FaceConsentVersion}
	fc, err := s.store.LatestFaceCheck(ctx, v.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	fillFace(out.Face, fc, s.now())
	return nil
}

// fillFace says what became of face check fc: a verify_id still usable,
// or the last attempt's outcome.
func fillFace(f *FaceView, fc model.FaceCheck, now time.Time) {
	switch {
	case fc.Outcome != "":
		f.Last, f.Cause = splitOutcome(fc.Outcome)
	case now.Before(fc.ExpiresAt):
		at := fc.ExpiresAt
		f.VerifyID, f.ExpiresAt = fc.VerifyID, &at
	default:
		f.Last = "expired"
	}
}

func splitOutcome(o string) (string, string) {
	for i := range o {
		if o[i] == ':' {
			return o[:i], o[i+1:]
		}
	}
	return o, ""
}

// faceCode is a provider's code as a number, when it is one.
func faceCode(code string) *int {
	n, err := strconv.Atoi(code)
	if err != nil {
		return nil
	}
	return &n
}
