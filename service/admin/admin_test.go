package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/redisconn/redistest"
	"realname/service/review"
	"realname/service/store"
)

const pw = "correct horse battery"

func newService(t *testing.T, db *gorm.DB, opts Options) *Service {
	t.Helper()
	conn := redistest.Open(t)
	opts.BcryptCost = bcrypt.MinCost
	s, err := New(db, store.New(db, clock.System{}, quiet), conn.Client, conn.Prefix, opts, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccountsAndSessions(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newService(t, db, Options{})
		ctx := context.Background()
		u, err := s.Create(ctx, "ann", pw, RoleReviewer, ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(u.PasswordHash, pw) || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
			t.Fatal("password not stored as a bcrypt hash")
		}
		for _, tc := range []struct {
			name, pass, role string
			want             error
		}{
			{"ann", pw, RoleReviewer, ErrExists},
			{"ANN", pw, RoleReviewer, ErrExists},
			{"bob", "short", RoleReviewer, ErrWeakPassword},
			{"bob", "aaaaaaaaaaaa", RoleReviewer, ErrWeakPassword},
			{"bob", "password1234", RoleReviewer, ErrWeakPassword},
			{"bob", "qwertyuiop12", RoleReviewer, ErrWeakPassword},
			{"bob", "bob123456789", RoleReviewer, ErrWeakPassword},
			{"bob", pw, "root", ErrInvalidRole},
			{"b<o>b", pw, RoleAdmin, ErrInvalidName},
		} {
			if _, err := s.Create(ctx, tc.name, tc.pass, tc.role, ActorCLI); !errors.Is(err, tc.want) {
				t.Errorf("create %q: %v, want %v", tc.name, err, tc.want)
			}
		}

		if _, _, err := s.Login(ctx, "ann", "wrong password!", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, _, err := s.Login(ctx, "nobody", pw, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("unknown user: %v", err)
		}
		token, sess, err := s.Login(ctx, "ann", pw, "10.0.0.1")
		if err != nil || sess.Role != RoleReviewer || sess.IsAdmin() || token == "" {
			t.Fatalf("login: %+v %v", sess, err)
		}
		var row model.AdminUser
		db.First(&row, u.ID)
		if row.FailedLogins != 0 {
			t.Fatalf("failures not reset: %d", row.FailedLogins)
		}
		got, err := s.Session(ctx, token)
		if err != nil || got.AdminID != u.ID || got.Username != "ann" {
			t.Fatalf("session: %+v %v", got, err)
		}
		// A role change applies to the live session.
		db.Model(&model.AdminUser{}).Where("id = ?", u.ID).Update("role", RoleAdmin)
		if got, _ := s.Session(ctx, token); !got.IsAdmin() {
			t.Fatal("role change not seen")
		}
		if err := s.Logout(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, token); !errors.Is(err, ErrNoSession) {
			t.Fatalf("after logout: %v", err)
		}
		if _, err := s.Session(ctx, "forged"); !errors.Is(err, ErrNoSession) {
			t.Fatalf("forged token: %v", err)
		}

		// Disabling ends the sessions at once.
		token, _, _ = s.Login(ctx, "ann", pw, "10.0.0.1")
		if err := s.SetDisabled(ctx, u.ID, true, review.Actor(99)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, token); !errors.Is(err, ErrNoSession) {
			t.Fatalf("disabled account's session: %v", err)
		}
		if _, _, err := s.Login(ctx, "ann", pw, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("disabled login: %v", err)
		}
		if err := s.SetDisabled(ctx, 424242, true, review.Actor(99)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing account: %v", err)
		}

		types := map[string]int{}
		var evs []model.VerificationEvent
		db.Where("verification_id IS NULL").Find(&evs)
		for _, e := range evs {
			types[e.Type]++
		}
		if types[review.EventAdminLogin] != 2 || types[review.EventAdminLoginFailed] != 2 || types[review.EventAdminLogout] != 1 ||
			types[review.EventAccountCreated] != 1 || types[review.EventAccountChanged] != 1 {
			t.Fatalf("audit events %v", types)
		}
		rep, err := review.VerifyChain(ctx, db)
		if err != nil || rep.Broken != nil {
			t.Fatalf("chain: %+v %v", rep, err)
		}
	})
}

func TestLockout(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newService(t, db, Options{MaxFailures: 3, LockFor: 10 * time.Minute})
		ctx := context.Background()
		u, err := s.Create(ctx, "ann", pw, RoleAdmin, ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, _, err := s.Login(ctx, "ann", "bad guess number", "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		if _, _, err := s.Login(ctx, "ann", "bad guess number", "10.0.0.2"); !errors.Is(err, ErrLocked) {
			t.Fatalf("third failure: %v", err)
		}
		if _, _, err := s.Login(ctx, "ann", pw, "10.0.0.2"); !errors.Is(err, ErrLocked) {
			t.Fatalf("right password while locked: %v", err)
		}
		later := time.Now().UTC().Add(11 * time.Minute)
		s.now = func() time.Time { return later }
		if _, _, err := s.Login(ctx, "ann", pw, "10.0.0.2"); err != nil {
			t.Fatalf("after the lock-out: %v", err)
		}
		s.now = func() time.Time { return time.Now().UTC() }
		for range 3 {
			_, _, _ = s.Login(ctx, "ann", "bad guess number", "10.0.0.2")
		}
		if err := s.Unlock(ctx, u.ID, review.Actor(u.ID)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Login(ctx, "ann", pw, "10.0.0.2"); err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		var locks int64
		db.Model(&model.VerificationEvent{}).Where("type = ?", review.EventAdminLocked).Count(&locks)
		if locks != 2 {
			t.Fatalf("lock events %d", locks)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	s := newService(t, db, Options{LoginsPerUser: 3, LoginsPerIP: 5, MaxFailures: 100})
	ctx := context.Background()
	if _, err := s.Create(ctx, "ann", pw, RoleReviewer, ActorCLI); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _, _ = s.Login(ctx, "ann", "bad guess number", "10.0.0.3")
	}
	var limited *RateLimitError
	if _, _, err := s.Login(ctx, "ann", pw, "10.0.0.4"); !errors.As(err, &limited) || limited.RetryAfter <= 0 {
		t.Fatalf("fourth attempt for one username: %v", err)
	}
	// Per address: spraying many usernames from one address stops too.
	for _, name := range []string{"u1", "u2", "u3", "u4", "u5"} {
		_, _, _ = s.Login(ctx, name, "whatever it is", "10.0.0.9")
	}
	if _, _, err := s.Login(ctx, "u6", "whatever it is", "10.0.0.9"); !errors.As(err, &limited) {
		t.Fatalf("sixth attempt from one address: %v", err)
	}
}

func TestCreateFromCLI(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	ctx := context.Background()
	opts := Options{BcryptCost: bcrypt.MinCost}
	u, err := CreateFromCLI(ctx, db, "root", RoleAdmin, strings.NewReader(pw+"\r\nignored"), opts)
	if err != nil || u.Role != RoleAdmin {
		t.Fatalf("create: %+v %v", u, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
		t.Fatal("the password is not the first line without its line ending")
	}
	if _, err := CreateFromCLI(ctx, db, "second", RoleAdmin, strings.NewReader(""), opts); err == nil {
		t.Fatal("empty stdin accepted")
	}
	var e model.VerificationEvent
	db.Where("type = ?", review.EventAccountCreated).First(&e)
	if e.Actor != ActorCLI || strings.Contains(e.Data, pw) {
		t.Fatalf("audit %+v", e)
	}
}

// TestIdleSessionsEnd: a staff session lives in Redis for the idle timeout
// only, each request renews it, never past the session's lifetime.
func TestIdleSessionsEnd(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	s := newService(t, db, Options{SessionTTL: time.Hour, IdleTimeout: 10 * time.Minute})
	ctx := context.Background()
	if _, err := s.Create(ctx, "ann", pw, RoleReviewer, ActorCLI); err != nil {
		t.Fatal(err)
	}
	token, _, err := s.Login(ctx, "ann", pw, "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	key := s.sessionKey(token)
	if ttl := s.rdb.TTL(ctx, key).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Fatalf("a new session lives %v in Redis, want the idle timeout", ttl)
	}
	// Nearly idle for too long; a request renews it.
	s.rdb.Expire(ctx, key, 5*time.Second)
	if _, err := s.Session(ctx, token); err != nil {
		t.Fatal(err)
	}
	if ttl := s.rdb.TTL(ctx, key).Val(); ttl < 9*time.Minute {
		t.Fatalf("a request did not renew the session: %v left", ttl)
	}
	// Idle past the timeout: gone.
	s.rdb.Del(ctx, key)
	if _, err := s.Session(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("an idle session still works: %v", err)
	}
}
