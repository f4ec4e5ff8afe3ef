package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

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
func (s *Service) Upload(ctx context.Context, u User, in UploadInput) (View, error) {
	consent, err := s.ensureConsent(ctx, u.ID, in.Consent)
	if err != nil {
		return View{}, err
	}
	photo, err := ocr.Prepare(in.Image, ocr.IntakeLimits{})
	if err != nil {
		return View{}, err
	}
	v, err := s.openDraft(ctx, u, modePhoto, consent)
	if err != nil {
		return View{}, err
	}
	hash := s.crypto.Hash("photo", photo.SHA256[:])
	if bytes.Equal(hash, v.FrontHash) || bytes.Equal(hash, v.BackHash) {
		return s.view(&v, s.left(ctx, "check", u.ID, s.policy.AttemptsPerDay))
	}
	if err := s.spend(ctx, "upload", u.ID, s.policy.UploadsPerDay); err != nil {
		return View{}, err
	}
	res, attempts, err := s.ocr.Recognize(ctx, ocr.Request{Image: photo.Data, Side: in.Side})
	if rerr := s.recordOCRAttempts(ctx, v.ID, attempts, res); rerr != nil {
		s.log.Error("recording OCR attempts failed", "verification", v.ID, "err", rerr)
	}
	if err != nil {
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
		if err := tx.First(&v, v.ID).Error; err != nil {
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

// AttemptAAD binds an attempt's sealed reading to its verification.
func AttemptAAD(vid int64) []byte { return []byte(fmt.Sprintf("provider_attempts.fields_enc:%d", vid)) }

func actorUser(id int64) string { return fmt.Sprintf("user:%d", id) }

// openDraft returns the user's open verification of mode, creating one
// when the latest is finished (rejected, expired) or there is none.
func (s *Service) openDraft(ctx context.Context, u User, mode, consent string) (model.Verification, error) {
	v, err := latest(ctx, s.db, u.ID)
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
	nv := model.Verification{UserID: u.ID, State: model.StateDraft, Version: 1, Mode: mode, ConsentVersion: consent}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&nv).Error; err != nil {
			return fmt.Errorf("verify: create: %w", err)
		}
		return s.appendEvent(ctx, tx, nv.ID, "created", "", model.StateDraft, actorUser(u.ID),
			map[string]any{"mode": mode, "consent_version": consent}, s.now())
	})
	return nv, err
}

// recordOCRAttempts stores every provider call; the successful one keeps
// its reading, sealed, for reviewers to compare vendors.
func (s *Service) recordOCRAttempts(ctx context.Context, vid int64, as []ocr.Attempt, res ocr.Result) error {
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
	return s.db.WithContext(context.WithoutCancel(ctx)).Create(&rows).Error
}
