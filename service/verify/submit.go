package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"realname/model"
	"realname/service/idcard"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/store"
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
	ReasonGuardianConsent   = "guardian_consent_required"
)

// Claim is what the user says: their name and ID number. In Submit an
// empty field confirms what OCR read from the card; a field that is sent
// is a correction and is recorded as one.
type Claim struct {
	Name     string
	IDNumber string
	Consent  string // consent_version; required by Check on first collection
	// Confirm goes ahead with corrections that contradict the card (a
	// number other than the one read, a birth date or sex the card does
	// not show), which are otherwise answered with a *ConfirmError.
	Confirm bool
}

// ConfirmError asks the user to look again before anything is paid: what
// they typed contradicts the card. Fields names what differs: id_number,
// birth, sex.
type ConfirmError struct{ Fields []string }

func (e *ConfirmError) Error() string {
	return "verify: the correction contradicts the card (" + strings.Join(e.Fields, ", ") + "); confirm it"
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

// claimed is what a submit comes to once resolved against the card.
type claimed struct {
	name      string
	num       idcard.Number
	corrected []string // fields the user changed from the reading
}

// resolve fills what the user left out from the reading of the front and
// checks what they changed against the card, for free: a name or number
// other than the one read, or a number whose birth date or sex the card
// contradicts, needs c.Confirm.
func (s *Service) resolve(c Claim, cd card) (claimed, error) {
	var readName, readID string
	if cd.Front != nil {
		readName, readID = cd.Front.Name, cd.Front.IDNumber
	}
	name, id := c.Name, c.IDNumber
	typedName, typedID := strings.TrimSpace(name) != "", strings.TrimSpace(id) != ""
	if !typedName {
		name = readName
	}
	if !typedID {
		id = readID
	}
	n, num, err := s.validate(Claim{Name: name, IDNumber: id})
	if err != nil {
		return claimed{}, err
	}
	out := claimed{name: n, num: num}
	if typedName && readName != "" {
		if rn, err := normalizeName(readName); err != nil || rn != n {
			out.corrected = append(out.corrected, "name")
		}
	}
	if typedID && readID != "" && !strings.EqualFold(strings.TrimSpace(readID), num.Value) {
		out.corrected = append(out.corrected, "id_number")
	}
	if c.Confirm || cd.Front == nil || (!typedID && !typedName) {
		return out, nil
	}
	// A name or number other than the one read is asked about before a
	// paid check: most are a slip of the finger.
	var differ []string
	for _, f := range []string{"name", "id_number"} {
		if slices.Contains(out.corrected, f) {
			differ = append(differ, f)
		}
	}
	if typedID {
		for _, w := range idcard.CrossCheck(num, cd.Front.Birth, cd.Front.Sex) {
			switch w {
			case idcard.WarnBirthMismatch:
				differ = append(differ, "birth")
			case idcard.WarnSexMismatch:
				differ = append(differ, "sex")
			}
		}
	}
	if len(differ) > 0 {
		return claimed{}, &ConfirmError{Fields: differ}
	}
	return out, nil
}

// Submit checks the name and number the user confirmed for their
// recognised card: what they left out is what OCR read; the local rules
// and the comparison with the card first (free, no attempt used); then
// one step on the verification read at the start (fenced: a change since
// has it read again under its lock), which checks its state and moves it
// to checking; then the paid check and the decision.
// A case the local policy decides (an expired card, an age rule) uses
// none of the day's attempts and pays nothing.
func (s *Service) Submit(ctx context.Context, u User, c Claim) (View, error) {
	latest, err := s.latest(ctx, u.ID)
	if err != nil {
		return View{}, err
	}
	if err := submittable(&latest.Verification); err != nil {
		return View{}, err
	}
	seen, err := s.readCard(&latest.Verification)
	if err != nil {
		return View{}, err
	}
	cl, err := s.resolve(c, seen)
	if err != nil {
		return View{}, err
	}
	undo := func() {}
	_, local := s.localDecision(cl.num, &seen)
	face := s.faceFirst(u.AppID, local) // the face check's own attempt is spent when it starts
	if !local && !face {
		if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
			return View{}, err
		}
		undoID, err := s.spendIdentity(ctx, u.ID, cl.num.Value)
		if err != nil {
			s.refund(ctx, "check", u.ID)
			return View{}, err
		}
		undo = func() { s.refund(ctx, "check", u.ID); undoID() }
	}
	var cd card
	v, err := s.store.StepFrom(ctx, latest, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		if err := submittable(cur); err != nil {
			return store.Change{}, err
		}
		var err error
		if cd, err = s.readCard(cur); err != nil {
			return store.Change{}, err
		}
		if cur.ID != latest.ID || cur.Version != latest.Version {
			// A photo came in since: resolve against what is read now.
			if cl, err = s.resolve(c, cd); err != nil {
				return store.Change{}, err
			}
		}
		return s.checking(ctx, cur, u, cl.name, cl.num, cl.corrected, face)
	})
	if err != nil {
		// Nothing was checked (no verification, the wrong state, a double
		// tap that lost the race): it must not use up one of the day's
		// attempts.
		undo()
		if errors.Is(err, store.ErrNotFound) {
			return View{}, ErrNoVerification
		}
		return View{}, err
	}
	if face {
		return s.view(ctx, &v.Verification, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	}
	return s.run(ctx, u, &v, cl.name, cl.num, &cd)
}

// latest is the user's latest verification, or ErrNoVerification.
func (s *Service) latest(ctx context.Context, userID int64) (store.Snapshot, error) {
	v, err := s.store.Latest(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return v, ErrNoVerification
	}
	return v, err
}

// submittable refuses a submit for a verification in any state but
// recognized.
func submittable(v *model.Verification) error {
	switch v.State {
	case store.Recognized:
		return nil
	case store.Draft:
		return ErrSideMissing
	case store.Verified:
		return ErrAlreadyVerified
	case store.Erased:
		return ErrErased
	}
	return fmt.Errorf("%w: %s", ErrInvalidState, v.State)
}

// Check decides on a name and number alone, without photos: the consent
// given with it, the verification and its move to checking are one
// transaction.
func (s *Service) Check(ctx context.Context, u User, c Claim) (View, error) {
	if !s.policy.AllowCheck {
		return View{}, ErrCheckDisabled
	}
	consent, err := s.checkConsent(ctx, u.ID, c.Consent, nil)
	if err != nil {
		return View{}, err
	}
	name, num, err := s.validate(c)
	if err != nil {
		return View{}, err
	}
	_, local := s.localDecision(num, nil)
	face := s.faceFirst(u.AppID, local) // the face check's own attempt is spent when it starts
	undo := func() {}
	if !face {
		if err := s.spend(ctx, "check", u.ID, s.policy.AttemptsPerDay); err != nil {
			return View{}, err
		}
		undoID, err := s.spendIdentity(ctx, u.ID, num.Value)
		if err != nil {
			s.refund(ctx, "check", u.ID)
			return View{}, err
		}
		undo = func() { s.refund(ctx, "check", u.ID); undoID() }
	}
	var v model.Verification
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.recordConsent(ctx, u.ID, consent); err != nil {
			return err
		}
		open, err := s.store.Open(ctx, u.ID, modeCheck, consent.version, actorUser(u.ID), nil, func(_ model.User, latest *model.Verification) (*model.Verification, error) {
			return reusable(latest, modeCheck)
		})
		if err != nil {
			return err
		}
		v, err = s.store.Step(ctx, open.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
			return s.checking(ctx, cur, u, name, num, nil, face)
		})
		return err
	})
	if err == nil && face {
		return s.view(ctx, &v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	}
	if err != nil {
		undo()
		return View{}, err
	}
	return s.run(ctx, u, &store.Snapshot{Verification: v}, name, num, nil)
}

// checking is the step to checking (or, with face, to face_pending): the
// submitted name and number sealed to cur's row, what the user corrected
// of the OCR reading. Committed before any vendor is asked, the move to
// checking is what tells a rescue that a paid call may have been made.
func (s *Service) checking(ctx context.Context, cur *model.Verification, u User, name string, num idcard.Number, corrected []string, face bool) (store.Change, error) {
	to := store.FacePending
	if !face {
		to = store.Checking
	}
	nameEnc, err := s.crypto.Encrypt([]byte(name), aad(cur, "name_enc"))
	if err != nil {
		return store.Change{}, err
	}
	idEnc, err := s.crypto.Encrypt([]byte(num.Value), aad(cur, "id_number_enc"))
	if err != nil {
		return store.Change{}, err
	}
	set := store.Patch{
		NameEnc: nameEnc, NameMasked: store.Ptr(pii.MaskName(name)),
		IDNumberEnc: idEnc, IDNumberMasked: store.Ptr(num.Masked()), IDNumberHash: s.idHash(num.Value),
	}
	if len(corrected) > 0 {
		raw, _ := json.Marshal(map[string]any{"fields": corrected})
		if set.CorrectionsEnc, err = s.crypto.Encrypt(raw, aad(cur, "corrections_enc")); err != nil {
			return store.Change{}, err
		}
	}
	return store.Change{To: to, Event: "submitted", Actor: actorUser(u.ID), Set: set,
		Data: map[string]any{"corrected": corrected, "id_number": num.Masked(), "name": pii.MaskName(name)}}, nil
}

// run decides a verification now in checking and records the decision.
func (s *Service) run(ctx context.Context, u User, v *store.Snapshot, name string, num idcard.Number, cd *card) (View, error) {
	// The decision must land even if the user's request is cancelled now:
	// a verification left in checking would need the sweeper to rescue it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	state, reason, dec := s.decide(dctx, name, num, cd)
	if s.faceSettles(u.AppID, state, reason) {
		if err := s.offerFace(dctx, u, &v.Verification, reason, dec); err != nil {
			return View{}, err
		}
	} else if err := s.finishRetrying(dctx, v, verdict{actor: actorUser(u.ID), state: state, reason: reason, check: dec, num: num}); err != nil {
		return View{}, err
	}
	out, err := s.view(ctx, &v.Verification, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	out.Attempts = append(out.Attempts, checkAttemptViews(dec)...)
	return out, err
}

func (s *Service) idHash(number string) []byte {
	return s.crypto.Hash(pii.PurposeIDNumber, []byte(number))
}

// decide applies the local policy, then asks the check chain. Local
// refusals cost nothing: no vendor is called.
func (s *Service) decide(ctx context.Context, name string, num idcard.Number, cd *card) (store.State, string, idcheck.Decision) {
	if d, ok := s.localDecision(num, cd); ok {
		return d.state, d.reason, idcheck.Decision{}
	}
	d, ok := reusedVerdict(name, num, cd)
	var err error
	if !ok {
		d, err = s.check.Check(ctx, name, num.Value)
	}
	if err != nil {
		return store.Review, ReasonSourceUnavailable, d
	}
	switch d.Outcome {
	case idcheck.Match:
		if cd != nil && cd.Front != nil && len(idcard.CrossCheck(num, cd.Front.Birth, cd.Front.Sex)) > 0 {
			return store.Review, ReasonOCRMismatch, d
		}
		return store.Verified, "", d
	case idcheck.Mismatch:
		return store.Rejected, ReasonMismatch, d
	case idcheck.InvalidID:
		return store.Rejected, ReasonIDInvalid, d
	case idcheck.InvalidName:
		return store.Rejected, ReasonNameInvalid, d
	case idcheck.NoRecord:
		return store.Review, ReasonNoRecord, d
	}
	return store.Review, ReasonSourceUnavailable, d
}

// AttemptReused marks a name/ID check answered by the verdict the OCR
// vendor gave with its reading: no second call, no second charge.
const AttemptReused = "reused_from_ocr"

// reusedVerdict is the front's vendor's own check of what it read, when
// the user confirmed exactly that name and number.
func reusedVerdict(name string, num idcard.Number, cd *card) (idcheck.Decision, bool) {
	if cd == nil || cd.Front == nil || cd.FrontVerdict == "" || cd.FrontProvider != ocr.AcedataName ||
		!strings.EqualFold(strings.TrimSpace(cd.Front.IDNumber), num.Value) {
		return idcheck.Decision{}, false
	}
	if read, err := normalizeName(cd.Front.Name); err != nil || read != name {
		return idcheck.Decision{}, false
	}
	res, ok := idcheck.AcedataVerdict(cd.FrontVerdict)
	if !ok {
		return idcheck.Decision{}, false
	}
	res.Charged = false // paid for with the recognition
	return idcheck.Decision{Result: res, Attempts: []idcheck.Attempt{{Provider: res.Provider, Outcome: AttemptReused, Code: res.Code}}}, true
}

// local is a decision the policy takes without asking a vendor.
type local struct {
	state  store.State
	reason string
}

// localDecision is the policy's own verdict on num and the card, if it
// has one: an expired card is rejected, a holder under MinAge rejected,
// one under GuardianUnder goes to review for a guardian's consent (PIPL
// art. 31) before any vendor sees the child's data.
func (s *Service) localDecision(num idcard.Number, cd *card) (local, bool) {
	today := s.now().In(s.china)
	if cd != nil && cardExpired(cd, num, today) && s.policy.RefuseExpired {
		return local{store.Rejected, ReasonCardExpired}, true
	}
	if s.policy.MinAge > 0 && num.Age(today) < s.policy.MinAge {
		return local{store.Rejected, ReasonUnderMinAge}, true
	}
	if s.policy.GuardianUnder > 0 && num.Age(today) < s.policy.GuardianUnder {
		return local{store.Review, ReasonGuardianConsent}, true
	}
	return local{}, false
}

// cardExpired reports whether the back of the card says it expired.
func cardExpired(cd *card, num idcard.Number, today time.Time) bool {
	if cd.Back == nil {
		return false
	}
	val, err := idcard.CheckValidity(cd.Back.ValidFrom, cd.Back.ValidTo, cd.Back.LongTerm, num.Birth, today)
	return err == nil && slices.Contains(val.Warnings, idcard.WarnCardExpired)
}

// verdict is a decision to write: who decided, the state and reason, the
// name/ID check behind it, the number a verified one binds, and the face
// check that decided it, when one did.
type verdict struct {
	actor  string
	state  store.State
	reason string
	check  idcheck.Decision
	num    idcard.Number
	face   *faceDecided
}

// data is what the decision's audit event says.
func (d verdict) data(reason string) map[string]any {
	if d.face != nil {
		return map[string]any{"reason": reason, "face": d.face.outcome, "verify_ret": d.face.ret, "provider": d.face.provider}
	}
	return map[string]any{"reason": reason, "outcome": d.check.Outcome, "cached": d.check.Cached, "attempts": checkAttemptViews(d.check)}
}

// finish writes the decision: state, reason, attempts, the ID binding for
// a verified one, audit event and webhook outbox row, in one transaction.
func (s *Service) finish(ctx context.Context, v *store.Snapshot, d verdict) error {
	// Each retry re-reads the bindings in a new transaction and so sees the
	// slot the winner took; after every slot has been contended, the number
	// is being bound to other accounts right now: that is id_already_bound.
	for range s.policy.AccountsPerID + 3 {
		err := s.finishOnce(ctx, v, d, true)
		if !errors.Is(err, store.ErrSlotTaken) {
			return err
		}
	}
	return s.finishOnce(ctx, v, d, false)
}

// finishRetrying keeps trying to write a paid decision while the database
// is briefly away (a failover, a restart): giving up would leave the case
// in checking for the sweeper and the vendor's answer unused. A case that
// left checking meanwhile (erased, or rescued) ends the attempts.
func (s *Service) finishRetrying(ctx context.Context, v *store.Snapshot, d verdict) error {
	wait := 250 * time.Millisecond
	for failed := false; ; failed = true {
		err := s.finish(ctx, v, d)
		if failed && errors.Is(err, ErrInvalidState) {
			// The failed attempt may have committed after all (a lost
			// reply): the case has left checking, by our hand or another's.
			cur, gerr := s.store.Get(ctx, v.ID)
			if gerr != nil {
				return err
			}
			*v = store.Snapshot{Verification: cur}
			return nil
		}
		if err == nil || errors.Is(err, ErrInvalidState) || errors.Is(err, ErrErased) {
			return err
		}
		s.log.Warn("writing the decision failed; retrying", "verification", v.ID, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// finishOnce is one attempt of finish; with bind false a verified decision
// goes to review as id_already_bound instead of taking a slot. A name/ID
// check decides a case in checking, a face check one in face_pending.
func (s *Service) finishOnce(ctx context.Context, v *store.Snapshot, d verdict, bind bool) error {
	from := store.Checking
	if d.face != nil {
		from = store.FacePending
	}
	out, err := s.store.StepFrom(ctx, *v, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
		if cur.State != from {
			return store.Change{}, fmt.Errorf("%w: %s", ErrInvalidState, cur.State)
		}
		st, rs := d.state, d.reason
		if st == store.Verified {
			bound := false
			if bind {
				var err error
				if bound, err = s.store.Bind(ctx, cur, s.idHash(d.num.Value), s.policy.AccountsPerID); err != nil {
					return store.Change{}, err
				}
			}
			if !bound {
				st, rs = store.Review, ReasonAlreadyBound
			}
		}
		set := store.Patch{Reason: &rs}
		if d.face != nil {
			if err := s.store.SettleFaceCheck(ctx, d.face.id, d.face.ret, d.face.outcome); err != nil {
				return store.Change{}, err
			}
			set.Mode = store.Ptr(faceMode(cur.Mode))
		} else if err := s.recordCheckAttempts(ctx, cur.ID, d.check); err != nil {
			return store.Change{}, err
		}
		return store.Change{To: st, Event: "decided", Actor: d.actor, Hook: decisionHook(st), Set: set, Data: d.data(rs)}, nil
	})
	if err == nil {
		*v = out
	}
	return err
}

func (s *Service) recordCheckAttempts(ctx context.Context, vid int64, d idcheck.Decision) error {
	rows := make([]model.ProviderAttempt, len(d.Attempts))
	for i, a := range d.Attempts {
		rows[i] = model.ProviderAttempt{VerificationID: vid, Kind: "idcheck", Provider: a.Provider, Outcome: a.Outcome,
			ErrorCode: a.Code, LatencyMS: a.Latency.Milliseconds()}
	}
	return s.store.RecordAttempts(ctx, rows)
}

func checkAttemptViews(d idcheck.Decision) []AttemptView {
	out := make([]AttemptView, len(d.Attempts))
	for i, a := range d.Attempts {
		out[i] = AttemptView{Provider: a.Provider, Outcome: a.Outcome, Code: a.Code, LatencyMS: a.Latency.Milliseconds()}
	}
	return out
}
