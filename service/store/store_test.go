package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The contract suite: every case runs on SQLite, and on PostgreSQL and
// MariaDB when the environment names them (CI does).

func TestTransitionTable(t *testing.T) {
	allowed := [][2]store.State{
		{"draft", "recognized"}, {"draft", "expired"}, {"draft", "checking"}, {"recognized", "checking"},
		{"recognized", "expired"}, {"checking", "verified"}, {"checking", "rejected"}, {"checking", "review"},
		{"review", "verified"}, {"review", "rejected"}, {"verified", "revoked"},
	}
	for _, p := range allowed {
		if !store.Allowed(p[0], p[1]) {
			t.Errorf("%s → %s refused", p[0], p[1])
		}
	}
	for _, p := range [][2]store.State{{"verified", "rejected"}, {"rejected", "verified"}, {"expired", "draft"},
		{"review", "checking"}, {"checking", "recognized"}, {"recognized", "verified"}, {"draft", "verified"},
		{"erased", "draft"}, {"erased", "verified"}, {"review", "erased"}, {"revoked", "verified"}, {"rejected", "revoked"},
		{"review", "revoked"}, {"revoked", "draft"}} {
		if store.Allowed(p[0], p[1]) {
			t.Errorf("%s → %s allowed", p[0], p[1])
		}
	}
	for _, s := range []store.State{"verified", "rejected", "expired", "erased", "revoked"} {
		if !store.Terminal(s) {
			t.Errorf("%s not terminal", s)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, err := range []error{&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40P01"},
		&mysqldriver.MySQLError{Number: 1213}, &mysqldriver.MySQLError{Number: 1205},
		fmt.Errorf("wrapped: %w", &mysqldriver.MySQLError{Number: 1213}), errors.New("database is locked (5) (SQLITE_BUSY)")} {
		if !store.Retryable(err) {
			t.Errorf("%v not retryable", err)
		}
	}
	for _, err := range []error{&pgconn.PgError{Code: "23505"}, &mysqldriver.MySQLError{Number: 1062}, store.ErrErased, errors.New("x")} {
		if store.Retryable(err) {
			t.Errorf("%v retryable", err)
		}
	}
}

type env struct {
	st  *store.Store
	db  *gorm.DB
	clk *clock.Manual
}

func newEnv(t *testing.T, db *gorm.DB) *env {
	clk := clock.NewManual(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	db = db.Session(&gorm.Session{NowFunc: clk.Now})
	return &env{st: store.New(db, clk, quiet), db: db, clk: clk}
}

func (e *env) user(t *testing.T, openid string) int64 {
	t.Helper()
	u := model.User{AppID: "wxtest", OpenID: openid}
	if err := e.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// open opens a draft for a new user.
func (e *env) open(t *testing.T, openid string) model.Verification {
	t.Helper()
	uid := e.user(t, openid)
	v, err := e.st.Open(context.Background(), uid, "photo", "v1", fmt.Sprintf("user:%d", uid), nil,
		func(model.User, *model.Verification) (*model.Verification, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func to(s store.State, event string) func(context.Context, *model.Verification) (store.Change, error) {
	return func(context.Context, *model.Verification) (store.Change, error) {
		return store.Change{To: s, Event: event, Actor: "system"}, nil
	}
}

// intact checks v's chain: each event names its predecessor's hash and
// hashes to itself, and the row's head is the last hash.
func (e *env) intact(t *testing.T, vid int64) []model.VerificationEvent {
	t.Helper()
	var events []model.VerificationEvent
	e.db.Where("verification_id = ?", vid).Order("id").Find(&events)
	prev := ""
	for _, ev := range events {
		if ev.PrevHash != prev || store.EventHash(ev) != ev.Hash {
			t.Fatalf("event %d (%s) breaks the chain", ev.ID, ev.Type)
		}
		prev = ev.Hash
	}
	var v model.Verification
	e.db.Take(&v, vid)
	if v.ChainHead != prev {
		t.Fatalf("chain head %q, last event %q", v.ChainHead, prev)
	}
	return events
}

func TestStepWritesOneVersionedChange(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-step")
		e.clk.Advance(time.Minute)
		got, err := e.st.Step(ctx, v.ID, func(_ context.Context, cur *model.Verification) (store.Change, error) {
			return store.Change{To: store.Recognized, Event: "idcard_read", Actor: "user:1", Hook: "verification.recognized",
				Set: store.Patch{Provider: store.Ptr("apizero"), FrontBlob: store.Ptr("ref-front")}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var row model.Verification
		e.db.Take(&row, v.ID)
		if row.State != "recognized" || row.Version != 2 || row.Provider != "apizero" || row.FrontBlob != "ref-front" ||
			!row.UpdatedAt.Equal(e.clk.Now()) || row.DecidedAt != nil {
			t.Fatalf("row %+v", row)
		}
		if got.Version != row.Version || got.State != row.State || got.ChainHead != row.ChainHead {
			t.Fatalf("returned %+v, stored %+v", got, row)
		}
		if evs := e.intact(t, v.ID); len(evs) != 2 || evs[1].FromState != "draft" || evs[1].ToState != "recognized" {
			t.Fatalf("events %+v", evs)
		}
		var hooks int64
		e.db.Model(&model.WebhookEvent{}).Where("verification_id = ? AND type = ?", v.ID, "verification.recognized").Count(&hooks)
		if hooks != 1 {
			t.Fatalf("%d outbox rows", hooks)
		}
		// A terminal state is a decision: photo retention counts from it.
		if _, err := e.st.Step(ctx, v.ID, to(store.Checking, "submitted")); err != nil {
			t.Fatal(err)
		}
		got, err = e.st.Step(ctx, v.ID, to(store.Verified, "decided"))
		if err != nil || got.DecidedAt == nil || !got.DecidedAt.Equal(e.clk.Now()) {
			t.Fatalf("decided: %+v %v", got, err)
		}
	})
}

func TestStepRefusesWhatTheMachineForbids(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-refuse")
		if _, err := e.st.Step(ctx, v.ID, to(store.Verified, "decided")); !errors.Is(err, store.ErrInvalidState) {
			t.Fatalf("draft → verified: %v", err)
		}
		if _, err := e.st.Step(ctx, 987654, to(store.Recognized, "x")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing verification: %v", err)
		}
		// The callback's own refusal rolls everything back.
		boom := errors.New("boom")
		_, err := e.st.Step(ctx, v.ID, func(ctx context.Context, cur *model.Verification) (store.Change, error) {
			if err := e.st.RecordAttempts(ctx, []model.ProviderAttempt{{VerificationID: cur.ID, Kind: "ocr", Provider: "p", Outcome: "ok"}}); err != nil {
				return store.Change{}, err
			}
			return store.Change{}, boom
		})
		var n int64
		e.db.Model(&model.ProviderAttempt{}).Count(&n)
		if !errors.Is(err, boom) || n != 0 {
			t.Fatalf("refused step: %v, %d attempts kept", err, n)
		}
		var row model.Verification
		e.db.Take(&row, v.ID)
		if row.Version != 1 || row.State != "draft" {
			t.Fatalf("row changed: %+v", row)
		}
	})
}

func TestClaimsTouchNeitherQueueOrderNorVersion(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-claim")
		for _, s := range []store.State{store.Checking, store.Review} {
			if _, err := e.st.Step(ctx, v.ID, to(s, "step")); err != nil {
				t.Fatal(err)
			}
		}
		var before model.Verification
		e.db.Take(&before, v.ID)
		e.clk.Advance(time.Hour)
		until := e.clk.Now().Add(30 * time.Minute)
		if err := e.st.Claim(ctx, v.ID, 1, "admin:1", until); err != nil {
			t.Fatal(err)
		}
		var c *store.ClaimedError
		if err := e.st.Claim(ctx, v.ID, 2, "admin:2", until); !errors.As(err, &c) || c.By != 1 {
			t.Fatalf("second reviewer's claim: %v", err)
		}
		if err := e.st.Release(ctx, v.ID, 2, "admin:2"); !errors.Is(err, store.ErrNotClaimed) {
			t.Fatalf("release by a non-holder: %v", err)
		}
		var after model.Verification
		e.db.Take(&after, v.ID)
		if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Version != before.Version || after.ClaimedBy == nil || *after.ClaimedBy != 1 {
			t.Fatalf("claim moved the case: before %+v after %+v", before, after)
		}
		// A lapsed claim goes to whoever asks next.
		e.clk.Advance(31 * time.Minute)
		if err := e.st.Claim(ctx, v.ID, 2, "admin:2", e.clk.Now().Add(30*time.Minute)); err != nil {
			t.Fatalf("claim after lapse: %v", err)
		}
		if err := e.st.Release(ctx, v.ID, 2, "admin:2"); err != nil {
			t.Fatal(err)
		}
		e.intact(t, v.ID)
	})
}

func TestErasureWinsAndHappensOnce(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-erase")
		if _, err := e.st.Step(ctx, v.ID, func(context.Context, *model.Verification) (store.Change, error) {
			return store.Change{To: store.Checking, Event: "submitted", Actor: "user:1", Set: store.Patch{
				NameEnc: []byte("sealed"), NameMasked: store.Ptr("张*"), IDNumberHash: []byte("h"), FrontBlob: store.Ptr("ref-f")}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		er, err := e.st.Erase(ctx, v.UserID, "user:1")
		if err != nil || !er.Emitted || len(er.VerificationIDs) != 1 || len(er.Blobs) != 1 {
			t.Fatalf("erase: %+v %v", er, err)
		}
		var row model.Verification
		e.db.Take(&row, v.ID)
		if row.State != "erased" || row.NameEnc != nil || row.NameMasked != "" || row.IDNumberHash != nil || row.FrontBlob != "" ||
			row.ErasedAt == nil || row.PhotosDeletedAt == nil {
			t.Fatalf("erased row %+v", row)
		}
		// Every later write is refused: the check in flight, a staff event.
		if _, err := e.st.Step(ctx, v.ID, to(store.Verified, "decided")); !errors.Is(err, store.ErrErased) {
			t.Fatalf("decision after erasure: %v", err)
		}
		if _, err := e.st.AppendEvent(ctx, v.ID, store.Event{Type: "revealed", Actor: "admin:1"}); !errors.Is(err, store.ErrErased) {
			t.Fatalf("reveal after erasure: %v", err)
		}
		if err := e.st.Claim(ctx, v.ID, 1, "admin:1", e.clk.Now().Add(time.Hour)); !errors.Is(err, store.ErrErased) {
			t.Fatalf("claim after erasure: %v", err)
		}
		// Repeated, concurrent erasures find nothing new.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if er, err := e.st.Erase(ctx, v.UserID, "user:1"); err != nil || er.Emitted {
					t.Errorf("repeated erase: %+v %v", er, err)
				}
			})
		}
		wg.Wait()
		var n int64
		e.db.Model(&model.WebhookEvent{}).Where("type = ?", store.HookDataErased).Count(&n)
		if n != 1 {
			t.Fatalf("%d user.data_erased events", n)
		}
		if evs := e.intact(t, v.ID); evs[len(evs)-1].Type != "erased" || evs[len(evs)-1].ToState != "erased" {
			t.Fatalf("last event %+v", evs[len(evs)-1])
		}
	})
}

// TestConcurrentStepsKeepOneChain: appends racing on one verification
// (staff events and transitions from many connections) all land, in one
// unforked chain, with no error reaching the caller (deadlocks retried).
func TestConcurrentStepsKeepOneChain(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		const n = 12
		vs := make([]model.Verification, 3)
		for i := range vs {
			vs[i] = e.open(t, fmt.Sprintf("o-race-%d", i))
		}
		var wg sync.WaitGroup
		for i := range n {
			for _, v := range vs {
				wg.Go(func() {
					var err error
					if i%3 == 0 {
						_, err = e.st.Step(ctx, v.ID, to(store.Draft, "idcard_read"))
					} else {
						_, err = e.st.AppendEvent(ctx, v.ID, store.Event{Type: "note", Actor: fmt.Sprintf("admin:%d", i)})
					}
					if err != nil {
						t.Errorf("append %d: %v", i, err)
					}
				})
			}
		}
		wg.Wait()
		for _, v := range vs {
			if evs := e.intact(t, v.ID); len(evs) != n+1 {
				t.Fatalf("%d events, want %d", len(evs), n+1)
			}
		}
	})
}

func TestPhotosDueOnlyAfterTheFinalDecision(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		withPhoto := func(openid string, path ...store.State) model.Verification {
			v := e.open(t, openid)
			if _, err := e.st.Step(ctx, v.ID, func(context.Context, *model.Verification) (store.Change, error) {
				return store.Change{To: store.Draft, Event: "idcard_read", Actor: "user", Set: store.Patch{FrontBlob: store.Ptr("ref-" + openid)}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, s := range path {
				if _, err := e.st.Step(ctx, v.ID, to(s, "step")); err != nil {
					t.Fatal(err)
				}
			}
			return v
		}
		decided := withPhoto("o-decided", store.Checking, store.Verified)
		waiting := withPhoto("o-waiting", store.Checking, store.Review)
		expired := withPhoto("o-expired", store.Expired)
		withPhoto("o-open")
		e.clk.Advance(73 * time.Hour)
		due, err := e.st.PhotosDue(ctx, e.clk.Now().Add(-72*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, v := range due {
			ids[v.ID] = true
		}
		if len(due) != 2 || !ids[decided.ID] || !ids[expired.ID] || ids[waiting.ID] {
			t.Fatalf("due %v", ids)
		}
		for _, v := range due {
			if err := e.st.PhotosDeleted(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if due, _ := e.st.PhotosDue(ctx, e.clk.Now().Add(-72*time.Hour), 100); len(due) != 0 {
			t.Fatalf("due again: %d", len(due))
		}
	})
}

func TestInTxJoinsAndRetries(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v := e.open(t, "o-tx")
		runs := 0
		err := e.st.InTx(ctx, func(ctx context.Context) error {
			runs++
			if _, err := e.st.Step(ctx, v.ID, to(store.Recognized, "idcard_read")); err != nil {
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
		var row model.Verification
		e.db.Take(&row, v.ID)
		if row.Version != 2 || row.State != "recognized" {
			t.Fatalf("the rolled-back attempt left %+v", row)
		}
		e.intact(t, v.ID)
	})
}
