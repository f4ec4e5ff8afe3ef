package keys_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/keys"
	"realname/service/login"
	"realname/service/pii"
	"realname/service/store"
	"realname/service/verify"
)

func TestRotateReencryptsEverything(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		oldSpec, _ := pii.GenerateKeySpec()
		oldRing, err := pii.ParseKeyRing(oldSpec)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		oldBlobs, _ := pii.NewFileBlobs(dir, oldRing)

		u := model.User{AppID: "wx1", OpenID: "o-rot"}
		u.SessionKeyEnc, _ = oldRing.EncryptString("session-key", login.SessionKeyAAD("wx1", "o-rot"))
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		v := model.Verification{UserID: u.ID, State: store.Verified, Mode: "photo"}
		if err := db.Create(&v).Error; err != nil {
			t.Fatal(err)
		}
		number := []byte("110101199005142138")
		nameEnc, _ := oldRing.Encrypt([]byte("林浩然"), verify.FieldAAD("name_enc", v.ID))
		idEnc, _ := oldRing.Encrypt(number, verify.FieldAAD("id_number_enc", v.ID))
		oldHash := oldRing.Hash(pii.PurposeIDNumber, number)
		db.Model(&v).Select("name_enc", "id_number_enc", "id_number_hash").
			Updates(&model.Verification{NameEnc: nameEnc, IDNumberEnc: idEnc, IDNumberHash: oldHash})
		db.Create(&model.IDBinding{IDNumberHash: oldHash, UserID: u.ID, VerificationID: v.ID})
		att, _ := oldRing.Encrypt([]byte(`{"Name":"x"}`), verify.AttemptAAD(v.ID))
		db.Create(&model.ProviderAttempt{VerificationID: v.ID, Kind: "ocr", Provider: "wechat", Outcome: "ok", FieldsEnc: att})
		ref, err := oldBlobs.Put(ctx, []byte("photo bytes"))
		if err != nil {
			t.Fatal(err)
		}

		newSpec, _ := pii.GenerateKeySpec()
		ring, err := pii.ParseKeyRing(newSpec + "," + oldSpec)
		if err != nil {
			t.Fatal(err)
		}
		blobs, _ := pii.NewFileBlobs(dir, ring)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		st, err := keys.New(keys.Deps{DB: db, Store: store.New(db, clock.System{}, quiet), Ring: ring, Blobs: blobs, Batch: 1, Log: quiet}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Users != 1 || st.Verifications != 1 || st.Attempts != 1 || st.Blobs != 1 || st.Bindings != 1 {
			t.Fatalf("stats %+v", st)
		}
		// Everything opens with the new key alone.
		only, _ := pii.ParseKeyRing(newSpec)
		var gotU model.User
		db.First(&gotU, u.ID)
		if s, err := only.DecryptString(gotU.SessionKeyEnc, login.SessionKeyAAD("wx1", "o-rot")); err != nil || s != "session-key" {
			t.Fatalf("session key: %q %v", s, err)
		}
		var gotV model.Verification
		db.First(&gotV, v.ID)
		if n, err := only.Decrypt(gotV.IDNumberEnc, verify.FieldAAD("id_number_enc", v.ID)); err != nil || !bytes.Equal(n, number) {
			t.Fatalf("id number: %v", err)
		}
		if !bytes.Equal(gotV.IDNumberHash, ring.Hash(pii.PurposeIDNumber, number)) {
			t.Fatal("lookup hash not recomputed")
		}
		var b model.IDBinding
		db.Where("verification_id = ?", v.ID).Take(&b)
		if !bytes.Equal(b.IDNumberHash, gotV.IDNumberHash) {
			t.Fatal("binding hash not recomputed")
		}
		onlyBlobs, _ := pii.NewFileBlobs(dir, only)
		if data, err := onlyBlobs.Get(ctx, ref); err != nil || string(data) != "photo bytes" {
			t.Fatalf("photo: %v", err)
		}
		// A second run has nothing left to do.
		if st, err := keys.New(keys.Deps{DB: db, Store: store.New(db, clock.System{}, quiet), Ring: ring, Blobs: blobs, Batch: 100, Log: quiet}).Run(ctx); err != nil || st != (keys.Stats{}) {
			t.Fatalf("second run: %+v %v", st, err)
		}
	})
}
