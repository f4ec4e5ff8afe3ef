package store_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/store"
)

// Contract cases for what other owners and readers reach the store by:
// audit actions, joining its transaction, the users table, the
// compare-and-set of key rotation and the named reads.

// TestActionsChainPerActorAndCommitWithTheirCause: an action is appended
// to its actor's chain; one written in an InTx beside another owner's row
// (through Joined) commits and rolls back with it, and a retried
// transaction leaves one of each.
func TestActionsChainPerActorAndCommitWithTheirCause(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		admin := model.AdminUser{Username: "ann", PasswordHash: "x", Role: "admin"}
		if err := e.db.Create(&admin).Error; err != nil {
			t.Fatal(err)
		}
		actor := "admin:" + strconv.FormatInt(admin.ID, 10)
		for range 2 {
			if err := e.st.AppendAction(ctx, actor, "admin_login", map[string]any{"ip": "10.0.0.1"}); err != nil {
				t.Fatal(err)
			}
		}
		boom := errors.New("the account change failed")
		err := e.st.InTx(ctx, func(ctx context.Context) error {
			if err := e.st.AppendAction(ctx, actor, "admin_account_changed", nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		runs := 0
		err = e.st.InTx(ctx, func(ctx context.Context) error {
			runs++
			key := model.APIKey{Name: "crm", Prefix: "rnk_" + strconv.Itoa(runs), SecretHash: []byte("h"), Scopes: "events:read", CreatedBy: actor}
			if err := store.Joined(ctx, e.db).Create(&key).Error; err != nil {
				return err
			}
			if err := e.st.AppendAction(ctx, actor, "api_key_created", map[string]any{"key": key.ID}); err != nil {
				return err
			}
			if runs == 1 {
				return &mysqldriver.MySQLError{Number: 1213, Message: "Deadlock found (simulated)"}
			}
			return nil
		})
		if err != nil || runs != 2 {
			t.Fatalf("runs %d, %v", runs, err)
		}
		var keys int64
		e.db.Model(&model.APIKey{}).Count(&keys)
		var chain []model.VerificationEvent
		e.db.Where("verification_id IS NULL AND actor = ?", actor).Order("id").Find(&chain)
		types := make([]string, len(chain))
		prev := ""
		for i, ev := range chain {
			types[i] = ev.Type
			if ev.PrevHash != prev || store.EventHash(ev) != ev.Hash {
				t.Fatalf("action %d (%s) breaks the actor's chain", ev.ID, ev.Type)
			}
			prev = ev.Hash
		}
		if keys != 1 || !slices.Equal(types, []string{"admin_login", "admin_login", "api_key_created"}) {
			t.Fatalf("%d keys, actions %v: want the rolled-back and retried attempts gone", keys, types)
		}
	})
}

// TestAlongsideJoinsTheStep: a write handed the step's transaction by
// Alongside rolls back with the step.
func TestAlongsideJoinsTheStep(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-along")
		boom := errors.New("refused")
		err := e.st.InTx(ctx, func(ctx context.Context) error {
			if _, err := e.st.Step(ctx, v.ID, to(store.Recognized, "idcard_read")); err != nil {
				return err
			}
			err := e.st.Alongside(ctx, func(ctx context.Context, tx *gorm.DB) error {
				return tx.Create(&model.WebhookAttempt{DeliveryID: 1, LatencyMS: 1, CreatedAt: e.clk.Now()}).Error
			})
			if err != nil {
				return err
			}
			return boom
		})
		var attempts int64
		e.db.Model(&model.WebhookAttempt{}).Count(&attempts)
		if got, _ := e.st.Get(ctx, v.ID); !errors.Is(err, boom) || attempts != 0 || got.State != store.Draft {
			t.Fatalf("err %v, %d attempts, state %s: the write outlived its step", err, attempts, got.State)
		}
	})
}

// TestSaveLoginIsOneRowPerUser: a login creates the user or replaces the
// session key of the one there, keeping its id; a unionid replaces the
// stored one only when WeChat sent one.
func TestSaveLoginIsOneRowPerUser(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		id, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-1", UnionID: "u-1", SessionKeyEnc: []byte("k1")})
		if err != nil || id == 0 {
			t.Fatalf("first login: %d %v", id, err)
		}
		other, err := e.st.SaveLogin(ctx, model.User{AppID: "wxb", OpenID: "o-1", SessionKeyEnc: []byte("kb")})
		if err != nil || other == id {
			t.Fatalf("another app's user: %d %v", other, err)
		}
		again, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-1", SessionKeyEnc: []byte("k2")})
		if err != nil || again != id {
			t.Fatalf("second login: %d %v, want %d", again, err, id)
		}
		var u model.User
		e.db.Take(&u, id)
		if string(u.SessionKeyEnc) != "k2" || u.UnionID != "u-1" {
			t.Fatalf("after the second login %+v", u)
		}
		if _, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-1", UnionID: "u-2", SessionKeyEnc: []byte("k3")}); err != nil {
			t.Fatal(err)
		}
		e.db.Take(&u, id)
		if u.UnionID != "u-2" {
			t.Fatalf("unionid %q, want the one WeChat sent", u.UnionID)
		}
		if got, err := e.st.UserByOpenID(ctx, "wxa", "o-1"); err != nil || got.ID != id {
			t.Fatalf("UserByOpenID = %+v %v", got, err)
		}
		if got, err := e.st.UserByUnionID(ctx, "u-2", ""); err != nil || got.ID != id {
			t.Fatalf("UserByUnionID = %+v %v", got, err)
		}
		for _, err := range []error{
			func() error { _, err := e.st.UserByOpenID(ctx, "wxb", "o-2"); return err }(),
			func() error { _, err := e.st.UserByUnionID(ctx, "u-2", "wxb"); return err }(),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("no such user: %v", err)
			}
		}
	})
}

// TestResealIsACompareAndSet: a resealed value is written only over the
// value it was made from; the rows changed since are named back.
func TestResealIsACompareAndSet(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		same, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-same", SessionKeyEnc: []byte("old-1")})
		if err != nil {
			t.Fatal(err)
		}
		moved, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-moved", SessionKeyEnc: []byte("old-2")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SaveLogin(ctx, model.User{AppID: "wxa", OpenID: "o-moved", SessionKeyEnc: []byte("login")}); err != nil {
			t.Fatal(err)
		}
		stale, err := e.st.ResealSessionKeys(ctx, []store.Resealing{{ID: same, Old: []byte("old-1"), New: []byte("new-1")},
			{ID: moved, Old: []byte("old-2"), New: []byte("new-2")}})
		if err != nil || !slices.Equal(stale, []int64{moved}) {
			t.Fatalf("stale %v, %v; want [%d]", stale, err, moved)
		}
		for id, want := range map[int64]string{same: "new-1", moved: "login"} {
			var u model.User
			e.db.Take(&u, id)
			if string(u.SessionKeyEnc) != want {
				t.Errorf("user %d holds %q, want %q", id, u.SessionKeyEnc, want)
			}
		}
		v := e.open(t, "o-attempts")
		rows := []model.ProviderAttempt{{VerificationID: v.ID, Kind: "ocr", Provider: "a", Outcome: "ok", FieldsEnc: []byte("r1")},
			{VerificationID: v.ID, Kind: "ocr", Provider: "b", Outcome: "ok", FieldsEnc: []byte("r2")}}
		if err := e.st.RecordAttempts(ctx, rows); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		e.db.Model(&model.ProviderAttempt{}).Where("verification_id = ?", v.ID).Order("id").Pluck("id", &ids)
		if _, err := e.st.Erase(ctx, v.UserID, "user"); err != nil {
			t.Fatal(err)
		}
		stale, err = e.st.ResealAttempts(ctx, []store.Resealing{{ID: ids[0], Old: []byte("r1"), New: []byte("n1")}})
		var a model.ProviderAttempt
		e.db.Take(&a, ids[0])
		if err != nil || !slices.Equal(stale, ids[:1]) || a.FieldsEnc != nil {
			t.Fatalf("stale %v, %v, reading %q: the erased reading was written back", stale, err, a.FieldsEnc)
		}
		stale, err = e.st.ResealTexts(ctx, []store.Resealing{{ID: 424242, Old: []byte("t"), New: []byte("n")}})
		if err != nil || !slices.Equal(stale, []int64{424242}) {
			t.Fatalf("a deleted note: stale %v, %v", stale, err)
		}
	})
}

// TestResealWritesOnlyWhatChanged: Reseal writes the sealed columns the
// callback rewrote and a new lookup hash with the bindings, never the
// version or updated_at.
func TestResealWritesOnlyWhatChanged(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-reseal")
		_, err := e.st.Step(ctx, v.ID, func(context.Context, *model.Verification) (store.Change, error) {
			return store.Change{To: store.Recognized, Event: "idcard_read", Actor: "system",
				Set: store.Patch{NameEnc: []byte("n-old"), FieldsEnc: []byte("f-old"), IDNumberHash: []byte("h-old")}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := e.st.Get(ctx, v.ID)
		e.clk.Advance(time.Minute)
		changed, _, err := e.st.Reseal(ctx, v.ID, func(v *model.Verification) error {
			for _, col := range v.Sealed() {
				if col.Name == "name_enc" {
					*col.Value = []byte("n-new")
				}
			}
			return nil
		})
		after, _ := e.st.Get(ctx, v.ID)
		if err != nil || !changed || string(after.NameEnc) != "n-new" || string(after.FieldsEnc) != "f-old" ||
			!bytes.Equal(after.IDNumberHash, before.IDNumberHash) || after.Version != before.Version || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("changed %v, %v: %+v", changed, err, after)
		}
		if changed, _, err := e.st.Reseal(ctx, v.ID, func(*model.Verification) error { return nil }); changed || err != nil {
			t.Fatalf("nothing to reseal: changed %v, %v", changed, err)
		}
	})
}

// TestNamedReads: the reads review asks inside its steps.
func TestNamedReads(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-reads")
		if err := e.st.RecordAttempts(ctx, []model.ProviderAttempt{{VerificationID: v.ID, Kind: "idcheck", Provider: "a", Outcome: "mismatch"}}); err != nil {
			t.Fatal(err)
		}
		if yes, err := e.st.HasAttempt(ctx, v.ID, "idcheck", "mismatch"); err != nil || !yes {
			t.Fatalf("HasAttempt = %v %v", yes, err)
		}
		if yes, err := e.st.HasAttempt(ctx, v.ID, "idcheck", "match"); err != nil || yes {
			t.Fatalf("HasAttempt(match) = %v %v", yes, err)
		}
		for _, step := range []func(context.Context, *model.Verification) (store.Change, error){
			to(store.Checking, "submitted"), to(store.Review, "decided"),
			func(context.Context, *model.Verification) (store.Change, error) {
				return store.Change{Event: "approval_requested", Actor: "admin:1"}, nil
			},
		} {
			if _, err := e.st.Step(ctx, v.ID, step); err != nil {
				t.Fatal(err)
			}
		}
		first, err := e.st.LastEventSince(ctx, v.ID, "approval_requested", store.Review)
		if err != nil || first.Actor != "admin:1" {
			t.Fatalf("LastEventSince = %+v %v", first, err)
		}
		if none, err := e.st.LastEventSince(ctx, v.ID, "approval_requested", store.Checking); err != nil || none.ID == 0 {
			t.Fatalf("since checking: %+v %v", none, err)
		}
		if none, err := e.st.LastEventSince(ctx, v.ID, "claimed", store.Review); err != nil || none.ID != 0 {
			t.Fatalf("no such event: %+v %v", none, err)
		}
	})
}
