package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/idcard"
	"realname/service/store"
)

// EventCheckRerun marks a check the sweeper asked again after a crash left
// it in checking.
const EventCheckRerun = "check_rerun"

// rescue settles a check a crash left in checking. The first time it asks
// again — the check chain's verdict cache answers a check that reached a
// vendor before the crash, at no cost; otherwise one more call — and writes
// that decision as the flow would have. A check already asked again (the
// rescue itself was cut short), or one without its sealed name and number,
// goes to staff as interrupted. It reports whether the case left checking
// by its hand, and whether it asked again.
func (s *Service) rescue(ctx context.Context, vid int64, stuckBefore time.Time) (done, rerun bool, err error) {
	v, err := s.store.Step(ctx, vid, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		rerun, done = false, false
		if cur.State != store.Checking || !cur.UpdatedAt.Before(stuckBefore) {
			return store.Change{Cancel: true}, nil
		}
		again, err := s.store.HasEvent(ctx, cur.ID, EventCheckRerun)
		if err != nil {
			return store.Change{}, err
		}
		if err := s.store.InterruptAttempts(ctx, cur.ID); err != nil {
			return store.Change{}, err
		}
		if !again && len(cur.NameEnc) > 0 && len(cur.IDNumberEnc) > 0 {
			// Written before the call: a rescue that dies too is not
			// asked a third time.
			rerun = true
			return store.Change{Event: EventCheckRerun, Actor: "system"}, nil
		}
		done = true
		return store.Change{To: store.Review, Event: "decided", Actor: "system", Hook: HookReviewRequired,
			Set: store.Patch{Reason: store.Ptr(ReasonInterrupted)}, Data: map[string]any{"reason": ReasonInterrupted}}, nil
	})
	if errors.Is(err, store.ErrErased) || err != nil || !rerun {
		return done, false, ignoreErased(err)
	}
	name, num, cd, err := s.submitted(&v)
	if err != nil {
		return false, true, err
	}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	state, reason, dec := s.decide(dctx, name, num, cd)
	err = s.finishRetrying(dctx, &store.Snapshot{Verification: v}, verdict{actor: "system", state: state, reason: reason, check: dec, num: num})
	if errors.Is(err, ErrInvalidState) || errors.Is(err, ErrErased) {
		return false, true, nil // the user's erasure or another instance got there first
	}
	return err == nil, true, err
}

func ignoreErased(err error) error {
	if errors.Is(err, store.ErrErased) {
		return nil
	}
	return err
}

// submitted opens what v was submitted with: name, number and, for a
// photo verification, the card read.
func (s *Service) submitted(v *model.Verification) (string, idcard.Number, *card, error) {
	name, err := s.crypto.Decrypt(v.NameEnc, aad(v, "name_enc"))
	if err != nil {
		return "", idcard.Number{}, nil, fmt.Errorf("verify: open name: %w", err)
	}
	raw, err := s.crypto.Decrypt(v.IDNumberEnc, aad(v, "id_number_enc"))
	if err != nil {
		return "", idcard.Number{}, nil, fmt.Errorf("verify: open number: %w", err)
	}
	num, err := idcard.Parse(string(raw), s.now().In(s.china))
	if err != nil {
		return "", idcard.Number{}, nil, fmt.Errorf("verify: stored number: %w", err)
	}
	if v.Mode != modePhoto {
		return string(name), num, nil, nil
	}
	cd, err := s.readCard(v)
	if err != nil {
		return "", idcard.Number{}, nil, err
	}
	return string(name), num, &cd, nil
}
