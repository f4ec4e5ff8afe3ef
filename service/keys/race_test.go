package keys_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/keys"
	"realname/service/login"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
	"realname/service/session"
	"realname/service/store"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/wechat"
)

// TestRotationLosesNoRace: a login (a new session key) and erasures that
// commit between rotation's read of a row and its write win: rotation
// neither writes the old session key back over the new one, nor the
// resealed key or reading of an erased user back over the wipe. The gap is
// driven, not timed: the rotator stops there and the test commits the
// login and the erasures.
func TestRotationLosesNoRace(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		st := store.New(db, clock.System{}, quiet)
		oldSpec, _ := pii.GenerateKeySpec()
		oldRing, err := pii.ParseKeyRing(oldSpec)
		if err != nil {
			t.Fatal(err)
		}
		newSpec, _ := pii.GenerateKeySpec()
		ring, err := pii.ParseKeyRing(newSpec + "," + oldSpec)
		if err != nil {
			t.Fatal(err)
		}
		logins := sandboxLogins(t, st)

		// ann logs in again during the rotation; bob and cy erase their
		// data during it (bob while his session key is being resealed, cy
		// while her provider attempt is); dan does nothing. All were sealed
		// with the old key.
		ann, err := logins(oldRing).Login(ctx, sandbox.SandboxAppID, "ann:1")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := logins(oldRing).Login(ctx, sandbox.SandboxAppID, "bob:1")
		if err != nil {
			t.Fatal(err)
		}
		cy, err := logins(oldRing).Login(ctx, sandbox.SandboxAppID, "cy:1")
		if err != nil {
			t.Fatal(err)
		}
		dan, err := logins(oldRing).Login(ctx, sandbox.SandboxAppID, "dan:1")
		if err != nil {
			t.Fatal(err)
		}
		v := model.Verification{UserID: cy.UserID, State: store.Review, Mode: "photo"}
		if err := db.Create(&v).Error; err != nil {
			t.Fatal(err)
		}
		reading, _ := oldRing.Encrypt([]byte(`{"Name":"x"}`), verify.AttemptAAD(v.ID))
		attempt := model.ProviderAttempt{VerificationID: v.ID, Kind: "ocr", Provider: "wechat", Outcome: "ok", FieldsEnc: reading}
		if err := db.Create(&attempt).Error; err != nil {
			t.Fatal(err)
		}

		var annKey []byte // what ann's new login stored
		raced := map[string]bool{}
		rot := keys.New(keys.Deps{DB: db, Store: st, Ring: ring, Batch: 100, Log: quiet}).Between(func(table string) {
			if raced[table] {
				return
			}
			raced[table] = true
			switch table {
			case "users":
				if _, err := logins(ring).Login(ctx, sandbox.SandboxAppID, "ann:2"); err != nil {
					t.Fatal(err)
				}
				annKey = sessionKey(t, db, ann.UserID)
				if _, err := st.Erase(ctx, bob.UserID, "user:bob"); err != nil {
					t.Fatal(err)
				}
			case "provider_attempts":
				if _, err := st.Erase(ctx, cy.UserID, "user:cy"); err != nil {
					t.Fatal(err)
				}
			}
		})
		stats, err := rot.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !raced["users"] || !raced["provider_attempts"] {
			t.Fatalf("the rotation never stopped between its read and its write: %v", raced)
		}
		if got := sessionKey(t, db, ann.UserID); string(got) != string(annKey) {
			t.Error("ann's session key from her new login was overwritten with the old one, resealed")
		}
		if got := sessionKey(t, db, bob.UserID); got != nil {
			t.Error("bob's erased session key was written back")
		}
		var a model.ProviderAttempt
		if err := db.Take(&a, attempt.ID).Error; err != nil {
			t.Fatal(err)
		}
		if a.FieldsEnc != nil {
			t.Error("cy's erased provider reading was written back")
		}
		// cy's and dan's keys were resealed (cy's before her erasure);
		// ann's and bob's changed under the rotation, cy's reading too.
		if stats.Users != 2 || stats.Attempts != 0 {
			t.Errorf("stats %+v, want 2 users and no attempt resealed", stats)
		}
		only, _ := pii.ParseKeyRing(newSpec)
		if _, err := only.DecryptString(sessionKey(t, db, dan.UserID), login.SessionKeyAAD(sandbox.SandboxAppID, openID(t, db, dan.UserID))); err != nil {
			t.Errorf("dan's session key does not open with the new key alone: %v", err)
		}
	})
}

// sandboxLogins returns, for a key ring, the login service as serve wires
// it, against the sandbox's WeChat: codes "name:n" are logins of one user.
func sandboxLogins(t *testing.T, st *store.Store) func(ring *pii.KeyRing) *login.Service {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := sandbox.New(quiet)
	sandbox.NewWeChat(nil, sandbox.WeChatOptions{}).Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	// The SDK's base URL is process-global; this package's tests run one
	// after another, each pointing it at its own sandbox.
	wechat.RedirectSDK(srv.URL())
	t.Cleanup(func() { wechat.RedirectSDK("") })
	conn := redistest.Open(t)
	app := []token.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}
	tokens := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Prefix, Apps: app, Fetch: token.NewWeChatFetcher(srv.URL(), token.ModeStable),
		Log: quiet, Registry: prometheus.NewRegistry()})
	wx := wechat.NewClient([]wechat.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}, tokens)
	sessions := session.NewStore(conn.Client, conn.Prefix, time.Hour, 10)
	return func(ring *pii.KeyRing) *login.Service {
		return login.New(st, wx, sessions, ring, sandbox.SandboxAppID)
	}
}

func sessionKey(t *testing.T, db *gorm.DB, userID int64) []byte {
	t.Helper()
	var u model.User
	if err := db.Select("id", "session_key_enc").Take(&u, userID).Error; err != nil {
		t.Fatal(err)
	}
	return u.SessionKeyEnc
}

func openID(t *testing.T, db *gorm.DB, userID int64) string {
	t.Helper()
	var u model.User
	if err := db.Select("id", "open_id").Take(&u, userID).Error; err != nil {
		t.Fatal(err)
	}
	return u.OpenID
}
