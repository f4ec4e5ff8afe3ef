package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/clock"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/service/store/storetest"
	"realname/service/verify"
)

var quiet = slog.New(slog.DiscardHandler)

// fixture is the review service over a real database and Redis, with the
// real verify transitions behind it; cases are inserted as rows.
type fixture struct {
	svc      *Service
	db       *gorm.DB
	ring     *pii.KeyRing
	blobs    *pii.FileBlobs
	flow     *verify.Service
	clk      *clock.Manual
	st       *store.Store
	ringSpec string // the key ring's spec, for rotation tests
	n        int
}

func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	spec, _ := pii.GenerateKeySpec()
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := pii.NewFileBlobs(t.TempDir(), ring)
	if err != nil {
		t.Fatal(err)
	}
	conn := redistest.Open(t)
	// One clock for the services and the database, at a fixed moment: no
	// test here depends on the calendar.
	clk := clock.NewManual(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	db = db.Session(&gorm.Session{NowFunc: clk.Now})
	st := store.New(db, clk, quiet)
	flow := verify.New(verify.Deps{Store: st, Redis: conn.Client, Prefix: conn.Prefix, Crypto: ring, Photos: st.StagedPhotos(blobs),
		Policy: verify.DefaultPolicy(), Clock: clk, Log: quiet})
	return &fixture{svc: New(Deps{Reads: db, Crypto: ring, Blobs: blobs, Store: st, Log: quiet}, Options{Clock: clk}), db: db, ring: ring, blobs: blobs, flow: flow, clk: clk, st: st, ringSpec: spec}
}

// admin inserts a staff account and returns its id.
func (f *fixture) admin(t *testing.T, name, role string) int64 {
	t.Helper()
	u := model.AdminUser{Username: name, PasswordHash: "x", Role: role}
	if err := f.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// seed describes a case to insert.
type seed struct {
	state                    store.State
	reason, provider, openid string
	name, number             string
	front, back              *ocr.Fields
	warnings, corrections    []string
	check                    string // idcheck attempt outcome; "" for none
	updatedAt                time.Time
	photos                   bool
}

func samplePNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// seedCase inserts a user and a verification as the flow would leave it:
// sealed fields, provider attempts, an event chain and an outbox row.
func (f *fixture) seedCase(t *testing.T, s seed) model.Verification {
	t.Helper()
	ctx := context.Background()
	f.n++
	if s.state == "" {
		s.state = store.Review
	}
	if s.openid == "" {
		s.openid = fmt.Sprintf("o-%d-%d", f.n, f.clk.Now().UnixNano())
	}
	if s.name == "" {
		s.name = "张三"
	}
	if s.number == "" {
		s.number = "11010519491231002X"
	}
	if s.provider == "" {
		s.provider = "apizero"
	}
	if s.front == nil {
		s.front = &ocr.Fields{Side: ocr.SideFront, Name: s.name, Sex: "男", Ethnicity: "汉", Birth: "1949-12-31",
			Address: "北京市朝阳区建国路88号", IDNumber: s.number}
	}
	if s.back == nil {
		s.back = &ocr.Fields{Side: ocr.SideBack, Authority: "北京市公安局朝阳分局", ValidFrom: "2015-01-01", ValidTo: "2035-01-01"}
	}
	if s.updatedAt.IsZero() {
		s.updatedAt = f.clk.Now()
	}
	u := model.User{AppID: "wxtest", OpenID: s.openid}
	if err := f.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	v := model.Verification{UserID: u.ID, State: s.state, Version: 3, Mode: "photo", Reason: s.reason, Provider: s.provider,
		NameMasked: pii.MaskName(s.name), IDNumberMasked: pii.MaskIDNumber(s.number),
		IDNumberHash: f.ring.Hash(pii.PurposeIDNumber, []byte(s.number)), ConsentVersion: "v1",
		CreatedAt: s.updatedAt.Add(-time.Minute), UpdatedAt: s.updatedAt}
	if err := f.db.Create(&v).Error; err != nil {
		t.Fatal(err)
	}
	seal := func(col string, b []byte) []byte {
		out, err := f.ring.Encrypt(b, verify.FieldAAD(col, v.ID))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cardJSON, _ := json.Marshal(map[string]any{"front": s.front, "back": s.back, "front_provider": s.provider,
		"back_provider": s.provider, "warnings": s.warnings})
	sealed := model.Verification{NameEnc: seal("name_enc", []byte(s.name)), IDNumberEnc: seal("id_number_enc", []byte(s.number)),
		FieldsEnc: seal("fields_enc", cardJSON)}
	cols := []string{"name_enc", "id_number_enc", "fields_enc"}
	if len(s.corrections) > 0 {
		raw, _ := json.Marshal(map[string]any{"fields": s.corrections})
		sealed.CorrectionsEnc, cols = seal("corrections_enc", raw), append(cols, "corrections_enc")
	}
	if s.photos {
		for _, side := range []struct {
			col, name string
			ref       *string
		}{{"front_blob", "front", &sealed.FrontBlob}, {"back_blob", "back", &sealed.BackBlob}} {
			ref, err := f.blobs.Put(ctx, append(samplePNG(), side.name...))
			if err != nil {
				t.Fatal(err)
			}
			*side.ref, cols = ref, append(cols, side.col)
		}
	}
	if err := f.db.Model(&model.Verification{}).Where("id = ?", v.ID).Select(cols).UpdateColumns(&sealed).Error; err != nil {
		t.Fatal(err)
	}
	for _, fl := range []*ocr.Fields{s.front, s.back} {
		raw, _ := json.Marshal(fl)
		sealed, _ := f.ring.Encrypt(raw, verify.AttemptAAD(v.ID))
		a := model.ProviderAttempt{VerificationID: v.ID, Kind: "ocr", Provider: s.provider, Outcome: "ok", LatencyMS: 120,
			FieldsEnc: sealed, CreatedAt: s.updatedAt}
		if err := f.db.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
	if s.check != "" {
		a := model.ProviderAttempt{VerificationID: v.ID, Kind: "idcheck", Provider: "acedata", Outcome: s.check, LatencyMS: 80, CreatedAt: s.updatedAt}
		if err := f.db.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
	vid := v.ID
	for _, e := range []model.VerificationEvent{
		{Type: "created", ToState: store.Draft, Actor: fmt.Sprintf("user:%d", u.ID)},
		{Type: "submitted", FromState: store.Draft, ToState: store.Checking, Actor: fmt.Sprintf("user:%d", u.ID)},
		{Type: "decided", FromState: store.Checking, ToState: s.state, Actor: fmt.Sprintf("user:%d", u.ID),
			Data: fmt.Sprintf(`{"reason":%q}`, s.reason)},
	} {
		e.VerificationID = &vid
		storetest.SeedEvent(t, f.db, e)
	}
	ev := model.WebhookEvent{ID: fmt.Sprintf("evt_seed_%d_%d", v.ID, f.n), Type: verify.HookReviewRequired, VerificationID: &vid,
		Payload: "{}", CreatedAt: s.updatedAt}
	if err := f.db.Create(&ev).Error; err != nil {
		t.Fatal(err)
	}
	if err := f.db.First(&v, v.ID).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) events(t *testing.T, vid int64) []model.VerificationEvent {
	t.Helper()
	var out []model.VerificationEvent
	if err := f.db.Where("verification_id = ?", vid).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func intact(t *testing.T, db *gorm.DB) ChainReport {
	t.Helper()
	rep, err := VerifyChain(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken != nil {
		t.Fatalf("audit chain broken: %s", rep.Broken)
	}
	return rep
}
