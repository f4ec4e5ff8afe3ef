package model_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
)

func TestMigrationsOnEveryBackend(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := modeltest.Open(t, b, false)
			// Two instances starting together must not trip over each other.
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = model.Migrate(ctx, db) }()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
			status, err := model.MigrationStatus(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range status {
				if !s.Applied {
					t.Errorf("migration %s not applied", s.ID)
				}
			}
			for _, idx := range []struct {
				model any
				name  string
			}{
				{&model.User{}, "ux_users_app_openid"},
				{&model.Verification{}, "ix_verifications_queue"},
				{&model.Verification{}, "ix_verifications_idhash"},
				{&model.WebhookDelivery{}, "ix_deliveries_due"},
				{&model.IDBinding{}, "ux_id_bindings_hash_slot"},
				{&model.Consent{}, "ix_consents_user"},
			} {
				if !db.Migrator().HasIndex(idx.model, idx.name) {
					t.Errorf("index %s missing", idx.name)
				}
			}
			// Rolling everything back and forward again proves Rollback works.
			for range status {
				if err := model.RollbackLast(ctx, db); err != nil {
					t.Fatal(err)
				}
			}
			if db.Migrator().HasTable(&model.User{}) {
				t.Fatal("users table survived a full rollback")
			}
			if err := model.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUsersAreUniquePerAppAndOpenID(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		u := model.User{AppID: "wx1", OpenID: "o-abc", UnionID: "u-1", SessionKeyEnc: []byte{0, 1, 2, 255}}
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Create(&model.User{AppID: "wx1", OpenID: "o-abc"}).Error
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Fatalf("duplicate openid: err = %v, want gorm.ErrDuplicatedKey", err)
		}
		if err := db.Create(&model.User{AppID: "wx2", OpenID: "o-abc"}).Error; err != nil {
			t.Fatalf("same openid under another app id must be allowed: %v", err)
		}
		var got model.User
		if err := db.First(&got, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.SessionKeyEnc, u.SessionKeyEnc) {
			t.Fatalf("round trip changed the row: %+v", got)
		}
		if !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("created_at %v != %v", got.CreatedAt, u.CreatedAt)
		}
	})
}

func TestVersionedUpdate(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		v := model.Verification{UserID: 1, State: store.Draft, Mode: "photo", NameMasked: "张*", IDNumberHash: bytes.Repeat([]byte{0xab}, 32)}
		if err := db.Create(&v).Error; err != nil {
			t.Fatal(err)
		}
		move := func(from int64, state model.State) int64 {
			res := db.Model(&model.Verification{}).Where("id = ? AND version = ?", v.ID, from).
				Select("state", "version").Updates(&model.Verification{State: state, Version: from + 1})
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			return res.RowsAffected
		}
		if n := move(1, store.Recognized); n != 1 {
			t.Fatalf("first transition affected %d rows", n)
		}
		if n := move(1, store.Expired); n != 0 {
			t.Fatalf("a stale version must not update, affected %d rows", n)
		}
		var got model.Verification
		if err := db.Where("id_number_hash = ?", v.IDNumberHash).First(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got.State != store.Recognized || got.Version != 2 || got.NameMasked != "张*" {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestOutboxRowsCommitWithTheirTransaction(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		boom := errors.New("boom")
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&model.WebhookEvent{ID: "evt_rolled_back", Type: "verification.verified", Payload: "{}"}).Error; err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		var n int64
		db.Model(&model.WebhookEvent{}).Count(&n)
		if n != 0 {
			t.Fatalf("rolled-back transaction left %d outbox rows", n)
		}
		ev := model.WebhookEvent{ID: "evt_1", Type: "verification.verified", Payload: `{"state":"verified","name":"张*"}`}
		d := model.WebhookDelivery{EventID: ev.ID, EndpointID: 1, Status: "pending", NextAttemptAt: time.Now().UTC()}
		if err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&ev).Error; err != nil {
				return err
			}
			return tx.Create(&d).Error
		}); err != nil {
			t.Fatal(err)
		}
		var due []model.WebhookDelivery
		if err := db.Where("status = ? AND next_attempt_at <= ?", "pending", time.Now().UTC().Add(time.Second)).Find(&due).Error; err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 {
			t.Fatalf("due deliveries = %d", len(due))
		}
		var got model.WebhookEvent
		if err := db.First(&got, "id = ?", "evt_1").Error; err != nil || got.Payload != ev.Payload {
			t.Fatalf("payload round trip: %v %q", err, got.Payload)
		}
	})
}

func TestIDBindingSlotsAreUnique(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		h := bytes.Repeat([]byte{0xAB}, 32)
		if err := db.Create(&model.IDBinding{IDNumberHash: h, Slot: 0, UserID: 1, VerificationID: 1}).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Create(&model.IDBinding{IDNumberHash: h, Slot: 0, UserID: 2, VerificationID: 2}).Error
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Fatalf("second binding in slot 0: %v, want gorm.ErrDuplicatedKey", err)
		}
		if err := db.Create(&model.IDBinding{IDNumberHash: h, Slot: 1, UserID: 2, VerificationID: 2}).Error; err != nil {
			t.Fatalf("slot 1: %v", err)
		}
		v := model.Verification{UserID: 1, State: store.Draft, Mode: "photo", FrontHash: h[:32], ConsentVersion: "v1"}
		if err := db.Create(&v).Error; err != nil {
			t.Fatal(err)
		}
		var got model.Verification
		if err := db.First(&got, v.ID).Error; err != nil || !bytes.Equal(got.FrontHash, h) || got.ConsentVersion != "v1" {
			t.Fatalf("new columns: %+v %v", got, err)
		}
	})
}
