package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"realname/model"
	"realname/service/ocr"
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
// a request refused before the vendors are called writes nothing.
func (s *Service) Upload(ctx context.Context, u User, in UploadInput) (View, error) {
	consent, err := s.checkConsent(ctx, u.ID, in.Consent)
	if err != nil {
		return View{}, err
	}
	photo, err := ocr.Prepare(in.Image, ocr.IntakeLimits{})
	if err != nil {
		return View{}, err
	}
	v, err := s.openOrNew(ctx, s.db, u, modePhoto)
	if err != nil {
		return View{}, err
	}
	hash := s.crypto.Hash("photo", photo.SHA256[:])
	if v.ID != 0 && (bytes.Equal(hash, v.FrontHash) || bytes.Equal(hash, v.BackHash)) {
		if err := s.recordConsent(ctx, s.db, u.ID, consent); err != nil {
			return View{}, err
		}
		return s.view(&v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
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
		if rerr := s.db.WithContext(wctx).Transaction(func(tx *gorm.DB) error {
			return s.recordUpload(wctx, tx, u, &v, consent, attempts, res)
		}); rerr != nil {
			s.log.Error("recording OCR attempts failed", "verification", v.ID, "err", rerr)
		}
		if errors.Is(err, ocr.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrOCRUnavailable, err)
		}
		return View{Attempts: attemptViews(attempts)}, err
	}
	ref, err := s.blobs.Put(ctx, photo.Data)
	if err != nil {
		return View{}, fmt.Errorf("verify: store photo: %w", err)
	}
	var replaced string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.recordUpload(ctx, tx, u, &v, consent, attempts, res); err != nil {
			return err
		}
		if v.State != model.StateDraft && v.State != model.StateRecognized {
			return fmt.Errorf("%w: %s", ErrInvalidState, v.State)
		}
		c, err := s.readCard(&v)
		if err != nil {
			return err
		}
		f := res.Fields
		side := f.Side
		if side == ocr.SideAuto {
			side = in.Side
		}
		if in.Side != ocr.SideAuto && side != in.Side {
			c.Warnings = addWarning(c.Warnings, "other_side_than_announced")
		}
		c.Warnings = addWarning(c.Warnings, res.Warnings...)
		set := map[string]any{"provider": res.Provider}
		if side == ocr.SideBack {
			c.Back, c.BackProvider = &f, res.Provider
			replaced = v.BackBlob
			set["back_blob"], set["back_hash"] = ref, hash
		} else {
			c.Front, c.FrontProvider = &f, res.Provider
			replaced = v.FrontBlob
			set["front_blob"], set["front_hash"] = ref, hash
		}
		sealed, err := s.sealCard(&v, c)
		if err != nil {
			return err
		}
		set["fields_enc"] = sealed
		to, hook := model.StateDraft, ""
		if len(s.missing(c)) == 0 {
			to = model.StateRecognized
			if v.State == model.StateDraft {
				hook = HookRecognized
			}
		}
		return s.apply(ctx, tx, &v, change{to: to, event: "idcard_read", actor: actorUser(u.ID), set: set, hook: hook,
			data: map[string]any{"side": side, "provider": res.Provider, "attempts": attemptViews(attempts), "warnings": c.Warnings}})
	})
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), ref)
		return View{}, err
	}
	if replaced != "" {
		if err := s.blobs.Delete(ctx, replaced); err != nil {
			s.log.Warn("deleting a replaced photo failed; the sweeper retries", "verification", v.ID, "err", err)
		}
	}
	out, err := s.view(&v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	out.Attempts = attemptViews(attempts)
	return out, err
}

// recordUpload writes, in tx, what every upload that reached the vendors
// records: the consent given with it, the verification (created now when
// the user had no open one, else reloaded, since the OCR call took time),
// and the provider attempts.
func (s *Service) recordUpload(ctx context.Context, tx *gorm.DB, u User, v *model.Verification, consent consentGiven, as []ocr.Attempt, res ocr.Result) error {
	if err := s.recordConsent(ctx, tx, u.ID, consent); err != nil {
		return err
	}
	if v.ID == 0 {
		nv, err := s.create(ctx, tx, u, modePhoto, consent.version)
		if err != nil {
			return err
		}
		*v = nv
	} else if err := tx.WithContext(ctx).First(v, v.ID).Error; err != nil {
		return fmt.Errorf("verify: reload: %w", err)
	}
	return s.recordOCRAttempts(ctx, tx, v.ID, as, res)
}

// AttemptAAD binds an attempt's sealed reading to its verification.
func AttemptAAD(vid int64) []byte { return []byte(fmt.Sprintf("provider_attempts.fields_enc:%d", vid)) }

func actorUser(id int64) string { return fmt.Sprintf("user:%d", id) }

// openOrNew returns the user's open verification of mode, or a zero one
// (ID 0) when a new one is needed: the latest is finished (rejected,
// expired) or there is none. Verified, checking and review refuse.
func (s *Service) openOrNew(ctx context.Context, db *gorm.DB, u User, mode string) (model.Verification, error) {
	v, err := latest(ctx, db, u.ID)
	switch {
	case errors.Is(err, ErrNoVerification):
	case err != nil:
		return v, err
	case v.State == model.StateVerified:
		return v, ErrAlreadyVerified
	case v.State == model.StateChecking || v.State == model.StateReview:
		return v, fmt.Errorf("%w: %s", ErrInvalidState, v.State)
	case (v.State == model.StateDraft || v.State == model.StateRecognized) && v.Mode == mode && v.ErasedAt == nil:
		return v, nil
	}
	return model.Verification{}, nil
}

// create opens a verification in tx. The user's row is locked first and
// the latest verification read again under that lock, so two first
// uploads at once (front and back sent in parallel) share one verification
// instead of each opening its own.
func (s *Service) create(ctx context.Context, tx *gorm.DB, u User, mode, consent string) (model.Verification, error) {
	lock := tx.WithContext(ctx).Model(&model.User{}).Select("id").Where("id = ?", u.ID)
	if tx.Name() != model.DialectSQLite { // SQLite's immediate transactions already serialise writers
		lock = lock.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var ids []int64
	if err := lock.Pluck("id", &ids).Error; err != nil {
		return model.Verification{}, fmt.Errorf("verify: lock user: %w", err)
	}
	v, err := s.openOrNew(ctx, tx, u, mode)
	if err != nil || v.ID != 0 {
		return v, err
	}
	nv := model.Verification{UserID: u.ID, State: model.StateDraft, Version: 1, Mode: mode, ConsentVersion: consent}
	if err := tx.WithContext(ctx).Create(&nv).Error; err != nil {
		return nv, fmt.Errorf("verify: create: %w", err)
	}
	err = s.appendEvent(ctx, tx, nv.ID, "created", "", model.StateDraft, actorUser(u.ID),
		map[string]any{"mode": mode, "consent_version": consent}, s.now())
	return nv, err
}

// openDraft is openOrNew that creates the new verification at once, for
// the check path, which has no vendor call to wait for first.
func (s *Service) openDraft(ctx context.Context, u User, mode, consent string) (model.Verification, error) {
	v, err := s.openOrNew(ctx, s.db, u, mode)
	if err != nil || v.ID != 0 {
		return v, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		v, err = s.create(ctx, tx, u, mode, consent)
		return err
	})
	return v, err
}

// recordOCRAttempts stores every provider call; the successful one keeps
// its reading, sealed, for reviewers to compare vendors.
func (s *Service) recordOCRAttempts(ctx context.Context, tx *gorm.DB, vid int64, as []ocr.Attempt, res ocr.Result) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]model.ProviderAttempt, len(as))
	for i, a := range as {
		rows[i] = model.ProviderAttempt{VerificationID: vid, Kind: "ocr", Provider: a.Provider, Outcome: a.Outcome,
			ErrorCode: a.Code, LatencyMS: a.Latency.Milliseconds(), CreatedAt: s.now()}
		if a.Outcome == ocr.OutcomeOK {
			raw, _ := json.Marshal(res.Fields)
			sealed, err := s.crypto.Encrypt(raw, AttemptAAD(vid))
			if err != nil {
				return err
			}
			rows[i].FieldsEnc = sealed
		}
	}
	if err := tx.WithContext(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("verify: record attempts: %w", err)
	}
	return nil
}
