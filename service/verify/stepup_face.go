package verify

import (
	"context"
	"errors"
	"fmt"

	"realname/model"
	"realname/service/face"
	"realname/service/store"
)

// StartStepUpFace issues a verify_id for the user's pending step-up, for
// the identity of their verified verification (the person types nothing).
// The consent to the face notice is the same as a verification's; each
// verify_id is one attempt of the day.
func (s *Service) StartStepUpFace(ctx context.Context, u User, id, consent string) (StepUpView, error) {
	if s.faceMode(u.AppID) == FaceOff {
		return StepUpView{}, ErrFaceOff
	}
	su, err := s.mine(ctx, u, id)
	if err != nil {
		return StepUpView{}, err
	}
	if su.State != store.StepUpPending {
		return StepUpView{}, fmt.Errorf("%w (it is %s)", ErrStepUpFinished, su.State)
	}
	if err := s.faceConsent(ctx, u.ID, consent); err != nil {
		return StepUpView{}, err
	}
	subject, err := s.faceSubject(ctx, su)
	if err != nil {
		return StepUpView{}, err
	}
	if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
		return StepUpView{}, err
	}
	ticket, err := s.face.Start(ctx, subject)
	if err != nil {
		s.refund(ctx, "check", u.ID)
		return StepUpView{}, fmt.Errorf("%w: %w", ErrFaceUnavailable, err)
	}
	_, err = s.store.Step(ctx, su.VerificationID, func(ctx context.Context, _ *model.Verification) (store.Change, error) {
		if consent != "" {
			if err := s.store.RecordFaceConsent(ctx, u.ID, consent); err != nil {
				return store.Change{}, err
			}
		}
		sid := su.ID
		if err := s.store.AddFaceCheck(ctx, &model.FaceCheck{StepUpID: &sid, AppID: su.AppID, OutSeqNo: ticket.SeqNo, VerifyID: ticket.VerifyID,
			Provider: s.face.Name(), ConsentVersion: s.policy.FaceConsentVersion, ExpiresAt: ticket.ExpiresAt}); err != nil {
			return store.Change{}, err
		}
		return store.Change{Event: "stepup_face_started", Actor: actorUser(u.ID),
			Data: map[string]any{"stepup": su.PublicID, "provider": s.face.Name(), "out_seq_no": ticket.SeqNo}}, nil
	})
	if err != nil {
		s.refund(ctx, "check", u.ID)
		return StepUpView{}, err
	}
	out, err := s.stepUpFor(ctx, su)
	if out.Face != nil {
		out.Face.VerifyID, out.Face.ExpiresAt, out.Face.Last, out.Face.Cause = ticket.VerifyID, &ticket.ExpiresAt, "", ""
	}
	return out, err
}

// StepUpResult asks what came of the step-up's face check and ends it:
// passed, or failed (another face, an identity the authority does not
// confirm); a check still being compared or not finished leaves it
// pending. Answered as it stands once ended.
func (s *Service) StepUpResult(ctx context.Context, u User, id string) (StepUpView, error) {
	if s.faceMode(u.AppID) == FaceOff {
		return StepUpView{}, ErrFaceOff
	}
	su, err := s.mine(ctx, u, id)
	if err != nil {
		return StepUpView{}, err
	}
	if su.State != store.StepUpPending {
		return s.stepUpFor(ctx, su)
	}
	fc, err := s.store.LatestStepUpFaceCheck(ctx, su.ID)
	if errors.Is(err, store.ErrNotFound) {
		return StepUpView{}, ErrFaceNotStarted
	}
	if err != nil {
		return StepUpView{}, err
	}
	if fc.Outcome != "" || !s.now().Before(fc.ExpiresAt) {
		if fc.Outcome == "" {
			if err := s.store.SettleFaceCheck(ctx, fc.ID, nil, "expired"); err != nil {
				return StepUpView{}, err
			}
		}
		return s.refreshed(ctx, u, id)
	}
	subject, err := s.faceSubject(ctx, su)
	if err != nil {
		return StepUpView{}, err
	}
	answer, err := s.face.Result(ctx, subject, face.Ticket{Provider: fc.Provider, VerifyID: fc.VerifyID, SeqNo: fc.OutSeqNo, ExpiresAt: fc.ExpiresAt})
	if errors.Is(err, face.ErrInvalidTicket) {
		if err := s.store.SettleFaceCheck(ctx, fc.ID, nil, "expired"); err != nil {
			return StepUpView{}, err
		}
		return s.refreshed(ctx, u, id)
	}
	if err != nil {
		return StepUpView{}, fmt.Errorf("%w: %w", ErrFaceUnavailable, err)
	}
	decided := &faceDecided{id: fc.ID, ret: faceCode(answer.Code), outcome: string(answer.Outcome), provider: fc.Provider}
	switch answer.Outcome {
	case face.OutcomePassed:
		err = s.endStepUp(ctx, &su, store.StepUpPassed, "", actorUser(u.ID), decided)
	case face.OutcomeIdentityMismatch:
		err = s.endStepUp(ctx, &su, store.StepUpFailed, ReasonFaceIDMismatch, actorUser(u.ID), decided)
	case face.OutcomeFaceMismatch:
		err = s.endStepUp(ctx, &su, store.StepUpFailed, ReasonFaceMismatch, actorUser(u.ID), decided)
	case face.OutcomeNoRecord:
		err = s.endStepUp(ctx, &su, store.StepUpFailed, ReasonNoRecord, actorUser(u.ID), decided)
	case face.OutcomePending, face.OutcomeRateLimited:
		return s.stepUpFor(ctx, su)
	case face.OutcomeConfigError:
		s.log.Error("the face provider refused the request as misconfigured", "provider", fc.Provider, "code", answer.Code)
		return StepUpView{}, fmt.Errorf("%w: %s answered %s", ErrFaceUnavailable, fc.Provider, answer.Code)
	default:
		outcome := string(answer.Outcome)
		if answer.Cause != face.CauseNone {
			outcome += ":" + string(answer.Cause)
		}
		err = s.store.SettleFaceCheck(ctx, fc.ID, decided.ret, outcome)
	}
	if err != nil {
		return StepUpView{}, err
	}
	return s.refreshed(ctx, u, id)
}

// refreshed reads the step-up again after a change.
func (s *Service) refreshed(ctx context.Context, u User, id string) (StepUpView, error) {
	su, err := s.mine(ctx, u, id)
	if err != nil {
		return StepUpView{}, err
	}
	return s.stepUpFor(ctx, su)
}
