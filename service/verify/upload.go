package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"realname/model"
	"realname/service/ocr"
	"realname/service/store"
)

const (
	modePhoto = "photo"
	modeCheck = "check"
)

// UploadInput is one photo of the card.
type UploadInput struct {
	Image   []byte
	Side    ocr.Side // announced side; SideAuto to let OCR tell
	Consent string   // consent_version, required on the first collection
}

// Upload reads a photo of the card into the user's open verification,
// opening one if needed. An identical re-upload reuses the stored reading.
//
// Everything the upload records (a consent given with it, a new
// verification, the provider attempts, the reading and the transition) is
// written in one transaction after the OCR call: one commit per upload, and
// a request refused before the vendors are called writes nothing. An
// erasure that lands while the vendors read wins: the upload is refused
// and its photo deleted.
func (s *Service) Upload(ctx context.Context, u User, in UploadInput) (View, error) {
	started := s.now()
	latest, err := s.store.Latest(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return View{}, err
	}
	var v model.Verification // the open verification to pin to; ID 0 for a new one
	var seen *model.Verification
	if latest.ID != 0 {
		seen = &latest.Verification
		keep, err := reusable(seen, modePhoto)
		if err != nil {
			return View{}, err
		}
		if keep != nil {
			v = *keep
		}
	}
	consent, err := s.checkConsent(ctx, u.ID, in.Consent, seen)
	if err != nil {
		return View{}, err
	}
	// A user past the day's uploads costs no decoding either: decoding
	// (a BMP is re-encoded) is the expensive part of an upload.
	if err := s.withinLimit(ctx, "upload", u.ID, s.policy.UploadsPerDay); err != nil {
		return View{}, err
	}
	photo, err := s.intake.Prepare(ctx, in.Image)
	if err != nil {
		return View{}, err
	}
	hash := s.crypto.Hash("photo", photo.SHA256[:])
	if v.ID != 0 && (bytes.Equal(hash, v.FrontHash) || bytes.Equal(hash, v.BackHash)) {
		if err := s.recordConsent(ctx, u.ID, consent); err != nil {
			return View{}, err
		}
		return s.view(ctx, &v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	}
	if err := s.spend(ctx, "upload", u.ID, s.policy.UploadsPerDay); err != nil {
		return View{}, err
	}
	res, attempts, err := s.ocr.Recognize(ctx, ocr.Request{Image: photo.Data, Side: in.Side})
	if err != nil {
		// The attempts still go on record (reviewers and the dashboard count
		// vendor failures), with the consent the user gave, on a context the
		// user cannot cancel: the vendors were called either way.
		wctx := context.WithoutCancel(ctx)
		if rerr := s.store.InTx(wctx, func(ctx context.Context) error {
			_, err := s.recordUpload(ctx, u, v.ID, seen, started, consent, attempts, res)
			return err
		}); rerr != nil && !errors.Is(rerr, ErrErased) {
			s.log.Error("recording OCR attempts failed", "verification", v.ID, "err", rerr)
		}
		if errors.Is(err, ocr.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrOCRUnavailable, err)
		}
		return View{Attempts: attemptViews(attempts)}, err
	}
	var done model.Verification
	// The photo is kept with the step that names it, and the one it
	// replaces is dropped with it. The step may run again (a lock conflict
	// is retried): it reads v, the verification this upload is pinned to,
	// and writes only done.
	err = s.photos.Add(ctx, photo.Data, func(ctx context.Context, ref string) error {
		vid, err := s.recordUpload(ctx, u, v.ID, seen, started, consent, attempts, res)
		if err != nil {
			return err
		}
		var replaced string
		reading := func(_ context.Context, cur *model.Verification) (store.Change, error) {
			c, err := s.readingChange(cur, u, in.Side, res, attempts, ref, hash)
			replaced = cur.FrontBlob
			if c.Set.BackBlob != nil {
				replaced = cur.BackBlob
			}
			return c, err
		}
		if vid == latest.ID {
			// The row read before the vendors were asked: the step writes
			// on it, fenced, instead of reading it again.
			var snap store.Snapshot
			snap, err = s.store.StepFrom(ctx, latest, reading)
			done = snap.Verification
		} else {
			done, err = s.store.Step(ctx, vid, reading)
		}
		if err != nil {
			return err
		}
		return s.photos.Drop(ctx, replaced)
	})
	if err != nil {
		return View{}, err
	}
	v = done
	out, err := s.view(ctx, &v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	out.Attempts = attemptViews(attempts)
	if err == nil && s.policy.EchoReading != EchoMasked {
		err = s.echo(&out, &v)
	}
	if in.Side != ocr.SideAuto && res.Side != ocr.SideAuto && res.Side != in.Side {
		out.Warnings = addWarning(out.Warnings, WarnOtherSide)
	}
	return out, err
}

// WarnOtherSide says the photo shows the other side of the card than the
// upload announced; it is filed under the side it shows.
const WarnOtherSide = "other_side_than_announced"

// readingChange is the step that files one side's reading into cur, which
// must still take photos.
func (s *Service) readingChange(cur *model.Verification, u User, announced ocr.Side, res ocr.Result, attempts []ocr.Attempt, ref string, hash []byte) (store.Change, error) {
	if !store.TakesPhotos(cur.State) {
		return store.Change{}, fmt.Errorf("%w: %s", ErrInvalidState, cur.State)
	}
	c, err := s.readCard(cur)
	if err != nil {
		return store.Change{}, err
	}
	f := res.Fields
	side := f.Side
	if side == ocr.SideAuto {
		side = announced
	}
	// other_side_than_announced is said in this upload's answer only
	// (Upload adds it): the reading is filed under the side it shows, and
	// the warning would otherwise outlive the photo that earned it.
	c.Warnings = nil
	ws := addWarning(nil, res.Warnings...)
	set := store.Patch{Provider: store.Ptr(res.Provider)}
	if side == ocr.SideBack {
		c.Back, c.BackProvider, c.BackWarnings = &f, res.Provider, ws
		set.BackBlob, set.BackHash = &ref, hash
	} else {
		c.Front, c.FrontProvider, c.FrontWarnings, c.FrontVerdict = &f, res.Provider, ws, res.Verdict
		set.FrontBlob, set.FrontHash = &ref, hash
	}
	if set.FieldsEnc, err = s.sealCard(cur, c); err != nil {
		return store.Change{}, err
	}
	to, hook := store.Draft, ""
	if len(s.missing(c)) == 0 {
		to = store.Recognized
		if cur.State == store.Draft {
			hook = HookRecognized
		}
	}
	return store.Change{To: to, Event: "idcard_read", Actor: actorUser(u.ID), Set: set, Hook: hook,
		Data: map[string]any{"side": side, "provider": res.Provider, "attempts": attemptViews(attempts), "warnings": ws}}, nil
}

// recordUpload writes, in ctx's transaction, what every upload that
// reached the vendors records: the consent given with it, the
// verification (vid, or one opened now when the user had none) and the
// provider attempts. seen is the latest verification as Upload read it
// (nil for none). It returns the verification's id. An erasure since
// started refuses it.
func (s *Service) recordUpload(ctx context.Context, u User, vid int64, seen *model.Verification, started time.Time, consent consentGiven, as []ocr.Attempt, res ocr.Result) (int64, error) {
	if vid == 0 {
		v, err := s.store.Open(ctx, u.ID, modePhoto, consent.version, actorUser(u.ID), seen, func(user model.User, latest *model.Verification) (*model.Verification, error) {
			if user.ErasedAt != nil && !user.ErasedAt.Before(started) {
				return nil, ErrErased // the user erased their data while the vendors read
			}
			return reusable(latest, modePhoto)
		})
		if err != nil {
			return 0, err
		}
		vid = v.ID
	}
	if err := s.recordConsent(ctx, u.ID, consent); err != nil {
		return 0, err
	}
	return vid, s.recordOCRAttempts(ctx, vid, as, res)
}

// AttemptAAD binds an attempt's sealed reading to its verification.
func AttemptAAD(vid int64) []byte { return []byte(fmt.Sprintf("provider_attempts.fields_enc:%d", vid)) }

// reusable says what a new request of mode does with the user's latest
// verification: reuse it (draft/recognized of the same mode), open a new
// one (nil: none yet, or finished), or refuse (verified, checking, review).
func reusable(latest *model.Verification, mode string) (*model.Verification, error) {
	if latest == nil {
		return nil, nil
	}
	switch st := latest.State; {
	case st == store.Verified:
		return nil, ErrAlreadyVerified
	case st == store.Checking || st == store.Review || st == store.FacePending:
		return nil, fmt.Errorf("%w: %s", ErrInvalidState, st)
	case store.TakesPhotos(st) && latest.Mode == mode:
		return latest, nil
	}
	return nil, nil
}

// recordOCRAttempts stores every provider call; the successful one keeps
// its reading, sealed, for reviewers to compare vendors.
func (s *Service) recordOCRAttempts(ctx context.Context, vid int64, as []ocr.Attempt, res ocr.Result) error {
	rows := make([]model.ProviderAttempt, len(as))
	for i, a := range as {
		rows[i] = model.ProviderAttempt{VerificationID: vid, Kind: "ocr", Provider: a.Provider, Outcome: a.Outcome,
			ErrorCode: a.Code, LatencyMS: a.Latency.Milliseconds()}
		if a.Outcome == ocr.OutcomeOK {
			raw, _ := json.Marshal(res.Fields)
			sealed, err := s.crypto.Encrypt(raw, AttemptAAD(vid))
			if err != nil {
				return err
			}
			rows[i].FieldsEnc = sealed
		}
	}
	return s.store.RecordAttempts(ctx, rows)
}
