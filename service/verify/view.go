package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"realname/model"
	"realname/service/idcard"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/store"
)

// card is what OCR read, sealed in verifications.fields_enc.
type card struct {
	Front         *ocr.Fields `json:"front,omitempty"`
	Back          *ocr.Fields `json:"back,omitempty"`
	FrontProvider string      `json:"front_provider,omitempty"`
	// FrontVerdict is the front's vendor's own name/ID check of what it
	// read (its result code), reused when the user confirms as read.
	FrontVerdict string `json:"front_verdict,omitempty"`
	BackProvider string `json:"back_provider,omitempty"`
	// FrontWarnings and BackWarnings are the vendors' doubts about each
	// side's photo, replaced when that side is uploaded again.
	FrontWarnings []string `json:"front_warnings,omitempty"`
	BackWarnings  []string `json:"back_warnings,omitempty"`
	// Warnings is where readings sealed before per-side warnings kept
	// theirs; a new upload clears it.
	Warnings []string `json:"warnings,omitempty"`
}

// warnings are what the user is told about the card as it stands: each
// side's doubts, and an expired card.
func (c card) warnings(today time.Time) []string {
	ws := addWarning(nil, c.Warnings...)
	ws = addWarning(ws, c.FrontWarnings...)
	ws = addWarning(ws, c.BackWarnings...)
	if c.Front != nil && c.Back != nil {
		// A photo of the other side than announced was filed where it
		// belongs; once both sides are in, nothing is on the wrong side.
		ws = slices.DeleteFunc(ws, func(w string) bool { return w == ocr.WarnWrongSide })
	}
	if c.Back != nil {
		var birth time.Time
		if c.Front != nil {
			if num, err := idcard.Parse(c.Front.IDNumber, today); err == nil {
				birth = num.Birth
			}
		}
		if val, err := idcard.CheckValidity(c.Back.ValidFrom, c.Back.ValidTo, c.Back.LongTerm, birth, today); err == nil &&
			slices.Contains(val.Warnings, idcard.WarnCardExpired) {
			ws = addWarning(ws, idcard.WarnCardExpired)
		}
	}
	return ws
}

// Fields are card fields as the Mini Program may see them: masked.
type Fields struct {
	Name      string `json:"name,omitempty"`
	IDNumber  string `json:"id_number,omitempty"`
	Sex       string `json:"sex,omitempty"`
	Ethnicity string `json:"ethnicity,omitempty"`
	Birth     string `json:"birth,omitempty"` // year only: 1990-**-**
	Address   string `json:"address,omitempty"`
	Authority string `json:"authority,omitempty"`
	ValidFrom string `json:"valid_from,omitempty"`
	ValidTo   string `json:"valid_to,omitempty"`
	LongTerm  bool   `json:"long_term,omitempty"`
}

// AttemptView is one provider call as the API reports it.
type AttemptView struct {
	Provider  string `json:"provider"`
	Outcome   string `json:"outcome"`
	Code      string `json:"code,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
}

// View is a verification as its user may see it.
type View struct {
	ID           int64         `json:"id,omitempty"`
	State        string        `json:"state"`
	Reason       string        `json:"reason,omitempty"`
	Mode         string        `json:"mode,omitempty"`
	Front        *Fields       `json:"front,omitempty"`
	Back         *Fields       `json:"back,omitempty"`
	Name         string        `json:"name,omitempty"`      // as submitted, masked
	IDNumber     string        `json:"id_number,omitempty"` // as submitted, masked
	Missing      []string      `json:"missing,omitempty"`   // sides still to upload
	Warnings     []string      `json:"warnings,omitempty"`
	Attempts     []AttemptView `json:"attempts,omitempty"` // of the call that returned this view
	AttemptsLeft int           `json:"attempts_left"`
	Erased       bool          `json:"erased,omitempty"`
	UpdatedAt    *time.Time    `json:"updated_at,omitempty"`
	// NextAction is what the user can do now: upload_again, confirm,
	// wait_until (then RetryAt, China time), contact_support or none.
	NextAction string     `json:"next_action"`
	RetryAt    *time.Time `json:"retry_at,omitempty"`
	// Message is NextAction and the reason in words for the person, in
	// their language; the API fills it (service/wording).
	Message string `json:"message"`
	// Note is what the reviewer asked the user to do, when they wrote it.
	Note string `json:"note,omitempty"`
	// Face is the face step, while the verification waits for it.
	Face *FaceView `json:"face,omitempty"`
}

// The next actions a View names.
const (
	NextUploadAgain    = "upload_again"
	NextConfirm        = "confirm"
	NextWaitUntil      = "wait_until"
	NextContactSupport = "contact_support"
	NextNone           = "none"
	NextFace           = "face"        // agree to the face notice, then POST /face and run wx.requestFacialVerify
	NextFaceResult     = "face_result" // the face check is being compared: POST /face/result again shortly
)

// nextAction is what the user of out can do now; a step that needs a
// check the user has none left for today waits until China midnight.
func (s *Service) nextAction(out *View) {
	next := NextNone
	switch out.State {
	case "none", string(store.Draft), string(store.Expired), string(store.Erased):
		next = NextUploadAgain
	case string(store.Recognized):
		next = NextConfirm
		if slices.Contains(out.Warnings, idcard.WarnCardExpired) && s.policy.RefuseExpired {
			next = NextUploadAgain // with a card that is still valid
		}
	case string(store.Review):
		if out.Reason == ReasonGuardianConsent {
			next = NextContactSupport
		}
	case string(store.Revoked):
		next = NextContactSupport
	case string(store.FacePending):
		next = NextFace
	case string(store.Rejected):
		switch out.Reason {
		case ReasonUnderMinAge:
		case ReasonAlreadyBound, "suspected_fraud", "rejected_by_reviewer":
			next = NextContactSupport
		default:
			next = NextUploadAgain
		}
	}
	live := out.Face != nil && out.Face.VerifyID != "" // a face check already paid for the day's attempt
	if (next == NextConfirm || next == NextUploadAgain || next == NextFace) && !live && out.AttemptsLeft == 0 && s.policy.AttemptsPerDay > 0 {
		_, at := s.today()
		next, out.RetryAt = NextWaitUntil, &at
	}
	out.NextAction = next
}

func maskFields(f *ocr.Fields) *Fields {
	if f == nil {
		return nil
	}
	birth := ""
	if len(f.Birth) >= 4 {
		birth = f.Birth[:4] + "-**-**"
	}
	return &Fields{
		Name: pii.MaskName(f.Name), IDNumber: pii.MaskIDNumber(f.IDNumber), Sex: f.Sex, Ethnicity: f.Ethnicity,
		Birth: birth, Address: pii.MaskAddress(f.Address), Authority: f.Authority,
		ValidFrom: f.ValidFrom, ValidTo: f.ValidTo, LongTerm: f.LongTerm,
	}
}

// EchoMasked and EchoFull are the values of Policy.EchoReading.
const (
	EchoFull   = "full"
	EchoMasked = "masked"
)

// echo shows the owner, in the answer to their own upload, everything
// read from their card, so they can check it and confirm with one tap.
// Nothing else shows it in full: the status, webhooks and logs stay
// masked, and a replay of this answer is stored sealed.
func (s *Service) echo(out *View, v *model.Verification) error {
	c, err := s.readCard(v)
	if err != nil {
		return err
	}
	out.Front, out.Back = fullFields(c.Front), fullFields(c.Back)
	return nil
}

func fullFields(f *ocr.Fields) *Fields {
	if f == nil {
		return nil
	}
	return &Fields{Name: f.Name, IDNumber: f.IDNumber, Sex: f.Sex, Ethnicity: f.Ethnicity, Birth: f.Birth, Address: f.Address,
		Authority: f.Authority, ValidFrom: f.ValidFrom, ValidTo: f.ValidTo, LongTerm: f.LongTerm}
}

func aad(v *model.Verification, column string) []byte { return FieldAAD(column, v.ID) }

// FieldAAD binds a sealed verifications column to its row: a ciphertext
// copied to another row or column does not open. Key rotation needs it.
func FieldAAD(column string, id int64) []byte {
	return []byte(fmt.Sprintf("verifications.%s:%d", column, id))
}

// readCard opens the sealed OCR reading of v.
func (s *Service) readCard(v *model.Verification) (card, error) { return openCard(s.crypto, v) }

func openCard(k Crypto, v *model.Verification) (card, error) {
	var c card
	if len(v.FieldsEnc) == 0 {
		return c, nil
	}
	raw, err := k.Decrypt(v.FieldsEnc, aad(v, "fields_enc"))
	if err != nil {
		return c, fmt.Errorf("verify: open fields: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("verify: decode fields: %w", err)
	}
	return c, nil
}

func (s *Service) sealCard(v *model.Verification, c card) ([]byte, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return s.crypto.Encrypt(raw, aad(v, "fields_enc"))
}

// missing lists the sides policy still wants.
func (s *Service) missing(c card) []string {
	var out []string
	if c.Front == nil {
		out = append(out, string(ocr.SideFront))
	}
	if c.Back == nil && s.policy.RequireBack {
		out = append(out, string(ocr.SideBack))
	}
	return out
}

// view renders v for its user.
func (s *Service) view(ctx context.Context, v *model.Verification, left int) (out View, err error) {
	out = View{ID: v.ID, State: string(v.State), Reason: v.Reason, Mode: v.Mode, AttemptsLeft: left,
		Name: v.NameMasked, IDNumber: v.IDNumberMasked, Erased: v.ErasedAt != nil, Note: v.UserNote}
	t := v.UpdatedAt
	out.UpdatedAt = &t
	defer s.nextAction(&out)
	if v.ErasedAt != nil {
		out.Name, out.IDNumber = "", ""
		return out, nil
	}
	if out.Note, err = s.userNote(ctx, v); err != nil {
		return out, err
	}
	if v.State == store.FacePending {
		if err := s.faceView(ctx, v, &out); err != nil {
			return out, err
		}
	}
	c, err := s.readCard(v)
	if err != nil {
		return out, err
	}
	out.Front, out.Back = maskFields(c.Front), maskFields(c.Back)
	out.Warnings = c.warnings(s.now().In(s.china))
	if v.Mode == modePhoto && (v.State == store.Draft || v.State == store.Recognized) {
		out.Missing = s.missing(c)
	}
	return out, nil
}

// userNote is the reviewer's note to v's user: sealed in event_texts
// since migration 0012, in the row before.
func (s *Service) userNote(ctx context.Context, v *model.Verification) (string, error) {
	if v.UserNoteDigest == "" {
		return v.UserNote, nil
	}
	rows, err := s.store.SealedTexts(ctx, v.ID)
	if err != nil {
		return "", err
	}
	texts, err := store.OpenTexts(s.crypto, rows)
	if err != nil {
		return "", err
	}
	return texts[v.ID][v.UserNoteDigest], nil
}

func attemptViews(as []ocr.Attempt) []AttemptView {
	out := make([]AttemptView, len(as))
	for i, a := range as {
		out[i] = AttemptView{Provider: a.Provider, Outcome: a.Outcome, Code: a.Code, LatencyMS: a.Latency.Milliseconds()}
	}
	return out
}

// addWarning appends each of w not yet in ws.
func addWarning(ws []string, w ...string) []string {
	for _, x := range w {
		if !slices.ContainsFunc(ws, func(y string) bool { return strings.EqualFold(x, y) }) {
			ws = append(ws, x)
		}
	}
	return ws
}
