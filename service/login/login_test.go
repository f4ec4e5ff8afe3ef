package login_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/login"
	"realname/service/pii"
	"realname/service/redisconn/redistest"
	"realname/service/session"
	verifications "realname/service/store"
	"realname/service/token"
	"realname/service/wechat"
)

// setup builds the login service against the sandbox WeChat, the test
// Redis and db, the way main wires it.
func setup(t *testing.T, db *gorm.DB) (*login.Service, *session.Store, *pii.KeyRing, *sandbox.Server) {
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
	apps := []token.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}
	tokens := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Prefix, Apps: apps, Fetch: token.NewWeChatFetcher(srv.URL(), token.ModeStable),
		Log: quiet, Registry: prometheus.NewRegistry()})
	wx := wechat.NewClient([]wechat.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}, tokens)
	spec, err := pii.GenerateKeySpec()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(conn.Client, conn.Prefix, time.Hour, 10) // the concurrent-login test keeps all ten
	return login.New(verifications.New(db, clock.System{}, quiet), wx, store, ring, sandbox.SandboxAppID), store, ring, srv
}

func TestLoginUpsertsOneUserAndSealsTheSessionKey(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc, store, ring, _ := setup(t, db)
		ctx := context.Background()
		// Ten first logins of the same person at once: one row.
		var wg sync.WaitGroup
		results := make([]login.Result, 10)
		errs := make([]error, 10)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = svc.Login(ctx, "", fmt.Sprintf("bob:%d", i))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
			if results[i].UserID != results[0].UserID {
				t.Fatalf("login %d made user %d, login 0 user %d", i, results[i].UserID, results[0].UserID)
			}
			info, err := store.Lookup(ctx, results[i].Token)
			if err != nil || info.UserID != results[0].UserID || info.AppID != sandbox.SandboxAppID {
				t.Fatalf("session %d: %+v %v", i, info, err)
			}
		}
		var users []model.User
		if err := db.Find(&users).Error; err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 {
			t.Fatalf("%d user rows, want 1", len(users))
		}
		u := users[0]
		if len(u.OpenID) != 28 || u.UnionID == "" {
			t.Errorf("openid %q unionid %q", u.OpenID, u.UnionID)
		}
		key, err := ring.DecryptString(u.SessionKeyEnc, login.SessionKeyAAD(u.AppID, u.OpenID))
		if err != nil || len(key) != 24 {
			t.Fatalf("session key does not decrypt: %v", err)
		}
		if bytes.Contains(u.SessionKeyEnc, []byte(key)) {
			t.Fatal("session key stored in clear")
		}
		// Sealed to its row: it does not decrypt as another user's.
		if _, err := ring.DecryptString(u.SessionKeyEnc, login.SessionKeyAAD(u.AppID, "o-someone-else")); err == nil {
			t.Fatal("session key decrypts under another user's binding")
		}
		// A different person is a different row.
		other, err := svc.Login(ctx, "", "carol:1")
		if err != nil || other.UserID == u.ID {
			t.Fatalf("carol: %+v %v", other, err)
		}
	})
}

func TestLoginErrors(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	svc, _, _, srv := setup(t, db)
	ctx := context.Background()
	for code, want := range map[string]error{
		"":                        login.ErrBadCode,
		string(make([]byte, 129)): login.ErrBadCode,
		"x&grant_type=other":      login.ErrBadCode, // would add a parameter to jscode2session
		"abc#fragment":            login.ErrBadCode, // would cut the URL
		"abc def":                 login.ErrBadCode,
		"码":                       login.ErrBadCode,
		"abc\x00":                 login.ErrBadCode,
		"invalid-1":               wechat.ErrInvalidCode,
		"ratelimit-1":             wechat.ErrRateLimited,
		"risky-1":                 wechat.ErrRiskyUser,
	} {
		if _, err := svc.Login(ctx, "", code); !errors.Is(err, want) {
			t.Errorf("code %.12q: %v, want %v", code, err, want)
		}
	}
	if _, err := svc.Login(ctx, "wxunknown", "dave:1"); !errors.Is(err, wechat.ErrUnknownApp) {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := svc.Login(ctx, "", "erin:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "", "erin:1"); !errors.Is(err, wechat.ErrInvalidCode) {
		t.Errorf("reused code: %v", err)
	}
	// WeChat failing is an upstream error (502), not a bad code.
	if err := srv.SetFault(sandbox.Fault{Upstream: sandbox.WeChatUpstream, Mode: sandbox.ModeError}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "", "frank:1"); !errors.Is(err, wechat.ErrUpstream) {
		t.Errorf("WeChat down: %v", err)
	}
}
