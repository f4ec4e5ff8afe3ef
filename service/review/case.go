package review

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"realname/model"
	"realname/service/ocr"
	"realname/service/store"
	"realname/service/verify"
)

// Case is everything a reviewer sees about one verification. Personal
// values are masked unless Revealed.
type Case struct {
	model.Verification
	AppID, OpenID, UnionID string
	Revealed               bool
	Name, IDNumber         string // as the user submitted them
	Warnings               []string
	Corrections            []string   // fields the user changed from what OCR read
	Compare                Comparison // every OCR reading side by side, and what the user submitted
	Checks                 []Attempt  // name/ID check calls and their answers
	Events                 []AuditEntry
	Webhooks               []WebhookEvent
	LiveClaimBy            string     // username holding a claim that has not lapsed
	LiveClaimUntil         *time.Time // when that claim lapses; nil when nobody holds the case
	NeedsSecond            bool       // approving needs two reviewers: the check called a mismatch
	FirstApproval          string     // username of the first approver, while a confirmation is pending
	FirstApprovalActor     string
	PhotoFront, PhotoBack  bool       // photos are still retained
	RevealedUntil          *time.Time // CaseFor: when the viewer's audited look ends
}

// Attempt is one provider call.
type Attempt struct {
	Kind, Provider, Outcome, Code string
	LatencyMS                     int64
	At                            time.Time
}

// Comparison is a table: one column per reading, one row per card field.
type Comparison struct {
	Columns []Column
	Rows    []CompareRow
}

// Column is one reading: a side read by a provider at a time, or (the
// last column) what the user submitted.
type Column struct {
	Side, Provider string // side: front, back or auto (the provider decided)
	At             time.Time
	Submitted      bool
}

// CompareRow is one field (name, id_number, …) across readings; Differs
// when they disagree, Corrected when the user changed what OCR read.
type CompareRow struct {
	Field     string
	Values    []string
	Differs   bool
	Corrected bool
}

// card mirrors verify's sealed fields_enc JSON.
type card struct {
	Front         *ocr.Fields `json:"front,omitempty"`
	Back          *ocr.Fields `json:"back,omitempty"`
	FrontProvider string      `json:"front_provider,omitempty"`
	BackProvider  string      `json:"back_provider,omitempty"`
	Warnings      []string    `json:"warnings,omitempty"`
}

// Case loads a case with personal values masked.
func (s *Service) Case(ctx context.Context, vid int64) (Case, error) {
	v, err := s.load(ctx, s.reads, vid)
	if err != nil {
		return Case{}, err
	}
	return s.build(ctx, v, false)
}

// build assembles the case file; reveal opens the personal values.
func (s *Service) build(ctx context.Context, v model.Verification, reveal bool) (Case, error) {
	c := Case{Verification: v, Revealed: reveal, Name: v.NameMasked, IDNumber: v.IDNumberMasked}
	var u model.User
	if err := s.reads.WithContext(ctx).Take(&u, v.UserID).Error; err == nil {
		c.AppID, c.OpenID, c.UnionID = u.AppID, u.OpenID, u.UnionID
	}
	cd, err := s.openCard(v)
	if err != nil {
		return c, err
	}
	c.Warnings = cd.Warnings
	if c.Corrections, err = s.openCorrections(v); err != nil {
		return c, err
	}
	// The submitted values are opened even when masked: the comparison
	// flags differences on the real values, and shows them masked.
	name, err := s.open(v.NameEnc, verify.FieldAAD("name_enc", v.ID))
	if err != nil {
		return c, err
	}
	number, err := s.open(v.IDNumberEnc, verify.FieldAAD("id_number_enc", v.ID))
	if err != nil {
		return c, err
	}
	if reveal && v.ErasedAt == nil {
		c.Name, c.IDNumber = name, number
	}
	readings, checks, err := s.attempts(ctx, v.ID)
	if err != nil {
		return c, err
	}
	c.Checks = checks
	c.Compare = compare(cd, readings, name, number, c.Corrections, reveal)
	if err := s.timeline(ctx, &c); err != nil {
		return c, err
	}
	if c.Webhooks, err = s.caseWebhooks(ctx, v.ID); err != nil {
		return c, err
	}
	if err := s.claimInfo(ctx, &c); err != nil {
		return c, err
	}
	retained := v.PhotosDeletedAt == nil && v.ErasedAt == nil
	c.PhotoFront, c.PhotoBack = retained && v.FrontBlob != "", retained && v.BackBlob != ""
	return c, nil
}

func (s *Service) open(sealed, aad []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	raw, err := s.crypto.Decrypt(sealed, aad)
	if err != nil {
		return "", fmt.Errorf("review: open field: %w", err)
	}
	return string(raw), nil
}

func (s *Service) openCard(v model.Verification) (card, error) {
	var cd card
	raw, err := s.open(v.FieldsEnc, verify.FieldAAD("fields_enc", v.ID))
	if err != nil || raw == "" {
		return cd, err
	}
	if err := json.Unmarshal([]byte(raw), &cd); err != nil {
		return cd, fmt.Errorf("review: decode fields: %w", err)
	}
	return cd, nil
}

func (s *Service) openCorrections(v model.Verification) ([]string, error) {
	raw, err := s.open(v.CorrectionsEnc, verify.FieldAAD("corrections_enc", v.ID))
	if err != nil || raw == "" {
		return nil, err
	}
	var out struct {
		Fields []string `json:"fields"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("review: decode corrections: %w", err)
	}
	return out.Fields, nil
}

// reading is one successful OCR call and what it read.
type reading struct {
	Provider string
	At       time.Time
	Fields   ocr.Fields
}

func (s *Service) attempts(ctx context.Context, vid int64) ([]reading, []Attempt, error) {
	var rows []model.ProviderAttempt
	if err := s.reads.WithContext(ctx).Where("verification_id = ?", vid).Order("id").Find(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("review: attempts: %w", err)
	}
	var readings []reading
	var all []Attempt
	for _, a := range rows {
		all = append(all, Attempt{Kind: a.Kind, Provider: a.Provider, Outcome: a.Outcome, Code: a.ErrorCode, LatencyMS: a.LatencyMS, At: a.CreatedAt})
		if len(a.FieldsEnc) == 0 {
			continue
		}
		raw, err := s.crypto.Decrypt(a.FieldsEnc, verify.AttemptAAD(vid))
		if err != nil {
			return nil, nil, fmt.Errorf("review: open attempt %d: %w", a.ID, err)
		}
		var f ocr.Fields
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, nil, fmt.Errorf("review: decode attempt %d: %w", a.ID, err)
		}
		readings = append(readings, reading{Provider: a.Provider, At: a.CreatedAt, Fields: f})
	}
	return readings, all, nil
}

// claimInfo fills the live claim and a pending first approval.
func (s *Service) claimInfo(ctx context.Context, c *Case) error {
	var ids []int64
	if c.ClaimedBy != nil && c.ClaimedUntil != nil && c.ClaimedUntil.After(s.now()) {
		ids = append(ids, *c.ClaimedBy)
		c.LiveClaimUntil = c.ClaimedUntil
	}
	if c.State == store.Review {
		need, err := s.needsSecond(ctx, c.Verification)
		if err != nil {
			return err
		}
		c.NeedsSecond = need
		if c.FirstApprovalActor, err = s.pendingApproval(ctx, c.ID); err != nil {
			return err
		}
		if id, ok := actorID(c.FirstApprovalActor); ok {
			ids = append(ids, id)
		}
	}
	names, err := s.usernames(ctx, ids)
	if err != nil {
		return err
	}
	if c.LiveClaimUntil != nil {
		c.LiveClaimBy = names[*c.ClaimedBy]
	}
	if id, ok := actorID(c.FirstApprovalActor); ok {
		c.FirstApproval = names[id]
	}
	return nil
}
