package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/idcard"
	"realname/service/idcheck"
	"realname/service/pii"
)

// Reasons a verification ends rejected or in review; stable codes.
const (
	ReasonMismatch          = "name_id_mismatch"
	ReasonIDInvalid         = "id_number_invalid"
	ReasonNameInvalid       = "name_invalid"
	ReasonCardExpired       = "card_expired"
	ReasonUnderMinAge       = "under_min_age"
	ReasonNoRecord          = "no_record"
	ReasonSourceUnavailable = "source_unavailable"
	ReasonAlreadyBound      = "id_already_bound"
	ReasonOCRMismatch       = "ocr_mismatch"
	ReasonInterrupted       = "interrupted"
)

// Claim is what the user says: their name and ID number.
type Claim struct {
	Name     string
	IDNumber string
	Consent  string // consent_version; required by Check on first collection
}

// normalizeName trims and checks a name: 1–40 letters, with the middle
// dot of minority and foreign names; no digits, no control characters.
func normalizeName(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u3000", " "))
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 40 {
		return "", ErrNameInvalid
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && r != '·' && r != '•' && r != ' ' && r != '.' {
			return "", ErrNameInvalid
		}
	}
	return s, nil
}

// validate runs the local rules, free of charge, before anything is spent.
func (s *Service) validate(c Claim) (string, idcard.Number, error) {
	name, err := normalizeName(c.Name)
	if err != nil {
		return "", idcard.Number{}, err
	}
	num, err := idcard.Parse(c.IDNumber, s.now().In(s.china))
	if err != nil {
		return "", idcard.Number{}, err
	}
	return name, num, nil
}

// Submit checks the name and number the user confirmed for their
// recognised card.
func (s *Service) Submit(ctx context.Context, u User, c Claim) (View, error) {
	v, err := latest(ctx, s.db, u.ID)
	if err != nil {
		return View{}, err
	}
	switch v.State {
	case model.StateRecognized:
	case model.StateDraft:
		return View{}, ErrSideMissing
	case model.StateVerified:
		return View{}, ErrAlreadyVerified
	default:
		return View{}, fmt.Errorf("%w: %s", ErrInvalidState, v.State)
	}
	name, num, err := s.validate(c)
	if err != nil {
		return View{}, err
	}
	cd, err := s.readCard(&v)
	if err != nil {
		return View{}, err
	}
	if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
		return View{}, err
	}
	var corrected []string
	if cd.Front != nil {
		if cd.Front.Name != name {
			corrected = append(corrected, "name")
		}
		if cd.Front.IDNumber != num.Value {
			corrected = append(corrected, "id_number")
		}
	}
	return s.run(ctx, u, &v, name, num, &cd, corrected)
}

// Check decides on a name and number alone, without photos.
func (s *Service) Check(ctx context.Context, u User, c Claim) (View, error) {
	if !s.policy.AllowCheck {
		return View{}, ErrCheckDisabled
	}
	consent, err := s.ensureConsent(ctx, u.ID, c.Consent)
	if err != nil {
		return View{}, err
	}
	name, num, err := s.validate(c)
	if err != nil {
		return View{}, err
	}
	v, err := s.openDraft(ctx, u, modeCheck, consent)
	if err != nil {
		return View{}, err
	}
	if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
		return View{}, err
	}
	return s.run(ctx, u, &v, name, num, nil, nil)
}

// run moves v to checking (one request wins; concurrent ones get
// ErrInvalidState), decides, and records the decision.
func (s *Service) run(ctx context.Context, u User, v *model.Verification, name string, num idcard.Number, cd *card, corrected []string) (View, error) {
	nameEnc, err := s.crypto.Encrypt([]byte(name), aad(v, "name_enc"))
	if err != nil {
		return View{}, err
	}
	idEnc, err := s.crypto.Encrypt([]byte(num.Value), aad(v, "id_number_enc"))
	if err != nil {
		return View{}, err
	}
	set := map[string]any{
		"name_enc": nameEnc, "name_masked": pii.MaskName(name),
		"id_number_enc": idEnc, "id_number_masked": num.Masked(), "id_number_hash": s.idHash(num.Value),
	}
	if len(corrected) > 0 {
		raw, _ := json.Marshal(map[string]any{"fields": corrected})
		if set["corrections_enc"], err = s.crypto.Encrypt(raw, aad(v, "corrections_enc")); err != nil {
			return View{}, err
		}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.apply(ctx, tx, v, change{to: model.StateChecking, event: "submitted", actor: actorUser(u.ID), set: set,
			data: map[string]any{"corrected": corrected, "id_number": num.Masked(), "name": pii.MaskName(name)}})
	})
	if err != nil {
		// A double tap that lost the race to another submit checks
		// nothing, so it must not use up one of the day's attempts.
		s.refund(ctx, "check", u.ID)
		return View{}, err
	}
	// The decision must land even if the user's request is cancelled now:
	// a verification left in checking would need the sweeper to rescue it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	state, reason, dec := s.decide(dctx, name, num, cd)
	if err := s.finishRetrying(dctx, v, actorUser(u.ID), state, reason, dec, num); err != nil {
		return View{}, err
	}
	out, err := s.view(v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	out.Attempts = append(out.Attempts, checkAttemptViews(dec)...)
	return out, err
}

func (s *Service) idHash(number string) []byte {
	return s.crypto.Hash(pii.PurposeIDNumber, []byte(number))
}

// decide applies the local policy, then asks the check chain. Local
// refusals cost nothing: no vendor is called.
func (s *Service) decide(ctx context.Context, name string, num idcard.Number, cd *card) (string, string, idcheck.Decision) {
	today := s.now().In(s.china)
	if cd != nil && cd.Back != nil && s.policy.RefuseExpired {
		val, err := idcard.CheckValidity(cd.Back.ValidFrom, cd.Back.ValidTo, cd.Back.LongTerm, num.Birth, today)
		if err == nil && slices.Contains(val.Warnings, idcard.WarnCardExpired) {
			return model.StateRejected, ReasonCardExpired, idcheck.Decision{}
		}
	}
	if s.policy.MinAge > 0 && num.Age(today) < s.policy.MinAge {
		return model.StateRejected, ReasonUnderMinAge, idcheck.Decision{}
	}
	d, err := s.check.Check(ctx, name, num.Value)
	if err != nil {
		return model.StateReview, ReasonSourceUnavailable, d
	}
	switch d.Outcome {
	case idcheck.Match:
		if cd != nil && cd.Front != nil && len(idcard.CrossCheck(num, cd.Front.Birth, cd.Front.Sex)) > 0 {
			return model.StateReview, ReasonOCRMismatch, d
		}
		return model.StateVerified, "", d
	case idcheck.Mismatch:
		return model.StateRejected, ReasonMismatch, d
	case idcheck.InvalidID:
		return model.StateRejected, ReasonIDInvalid, d
	case idcheck.InvalidName:
		return model.StateRejected, ReasonNameInvalid, d
	case idcheck.NoRecord:
		return model.StateReview, ReasonNoRecord, d
	}
	return model.StateReview, ReasonSourceUnavailable, d
}

// errSlotTaken makes finish retry when another verification took the
// binding slot it chose.
var errSlotTaken = errors.New("verify: binding slot taken")

// finish writes the decision: state, reason, attempts, the ID binding for
// a verified one, audit event and webhook outbox row, in one transaction.
func (s *Service) finish(ctx context.Context, v *model.Verification, actor, state, reason string, d idcheck.Decision, num idcard.Number) error {
	// Each retry re-reads the bindings in a new transaction and so sees the
	// slot the winner took; after every slot has been contended, the number
	// is being bound to other accounts right now: that is id_already_bound.
	bindOK := true
	for range s.policy.AccountsPerID + 3 {
		err := s.finishOnce(ctx, v, actor, state, reason, d, num, bindOK)
		if !errors.Is(err, errSlotTaken) {
			return err
		}
		if rerr := s.db.WithContext(ctx).First(v, v.ID).Error; rerr != nil {
			return rerr
		}
	}
	bindOK = false
	return s.finishOnce(ctx, v, actor, state, reason, d, num, bindOK)
}

// finishRetrying keeps trying to write a paid decision while the database
// is briefly away (a failover, a restart): giving up would leave the case
// in checking for the sweeper and the vendor's answer unused.
func (s *Service) finishRetrying(ctx context.Context, v *model.Verification, actor, state, reason string, d idcheck.Decision, num idcard.Number) error {
	wait := 250 * time.Millisecond
	for {
		err := s.finish(ctx, v, actor, state, reason, d, num)
		if err == nil || errors.Is(err, ErrInvalidState) {
			return err
		}
		s.log.Warn("writing the decision failed; retrying", "verification", v.ID, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		// The failed attempt may have committed after all (lost reply):
		// reload, and stop if the case has left checking.
		var cur model.Verification
		if rerr := s.db.WithContext(ctx).First(&cur, v.ID).Error; rerr == nil {
			*v = cur
			if cur.State != model.StateChecking {
				return nil
			}
		}
	}
}

// finishOnce is one attempt of finish; with bind false a verified decision
// goes to review as id_already_bound instead of taking a slot.
func (s *Service) finishOnce(ctx context.Context, v *model.Verification, actor, state, reason string, d idcheck.Decision, num idcard.Number, bind bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st, rs := state, reason
		if st == model.StateVerified {
			bound := false
			if bind {
				var err error
				if bound, err = s.bind(ctx, tx, v, num); err != nil {
					return err
				}
			}
			if !bound {
				st, rs = model.StateReview, ReasonAlreadyBound
			}
		}
		if err := s.recordCheckAttempts(ctx, tx, v.ID, d); err != nil {
			return err
		}
		now := s.now()
		return s.apply(ctx, tx, v, change{to: st, event: "decided", actor: actor, hook: decisionHook(st),
			set:  map[string]any{"reason": rs, "decided_at": &now},
			data: map[string]any{"reason": rs, "outcome": d.Outcome, "cached": d.Cached, "attempts": checkAttemptViews(d)}})
	})
}

// bind takes a free slot for the number (AccountsPerID slots in all). It
// reports false when every slot belongs to other accounts.
func (s *Service) bind(ctx context.Context, tx *gorm.DB, v *model.Verification, num idcard.Number) (bool, error) {
	hash := s.idHash(num.Value)
	var rows []model.IDBinding
	if err := tx.WithContext(ctx).Where("id_number_hash = ?", hash).Find(&rows).Error; err != nil {
		return false, fmt.Errorf("verify: bindings: %w", err)
	}
	used := map[int]bool{}
	for _, b := range rows {
		if b.UserID == v.UserID {
			return true, nil // re-verifying the same account
		}
		used[b.Slot] = true
	}
	for slot := range s.policy.AccountsPerID {
		if used[slot] {
			continue
		}
		err := tx.WithContext(ctx).Create(&model.IDBinding{IDNumberHash: hash, Slot: slot, UserID: v.UserID, VerificationID: v.ID}).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return false, errSlotTaken
		}
		if err != nil {
			return false, fmt.Errorf("verify: bind: %w", err)
		}
		return true, nil
	}
	return false, nil
}

func (s *Service) recordCheckAttempts(ctx context.Context, tx *gorm.DB, vid int64, d idcheck.Decision) error {
	if len(d.Attempts) == 0 {
		return nil
	}
	rows := make([]model.ProviderAttempt, len(d.Attempts))
	for i, a := range d.Attempts {
		rows[i] = model.ProviderAttempt{VerificationID: vid, Kind: "idcheck", Provider: a.Provider, Outcome: a.Outcome,
			ErrorCode: a.Code, LatencyMS: a.Latency.Milliseconds(), CreatedAt: s.now()}
	}
	return tx.WithContext(ctx).Create(&rows).Error
}

func checkAttemptViews(d idcheck.Decision) []AttemptView {
	out := make([]AttemptView, len(d.Attempts))
	for i, a := range d.Attempts {
		out[i] = AttemptView{Provider: a.Provider, Outcome: a.Outcome, Code: a.Code, LatencyMS: a.Latency.Milliseconds()}
	}
	return out
}
