package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/notify"
	"realname/service/redisconn/redistest"
	"realname/service/store"
	"realname/service/token"
	"realname/service/wechat"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	st      *store.Store
	srv     *sandbox.Server
	courier *notify.Courier
	clk     *clock.Manual
	db      *gorm.DB
}

func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	srv := sandbox.New(quiet)
	sandbox.NewWeChat(nil, sandbox.WeChatOptions{}).Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	// The SDK's base URL is process-global; this package's tests run one
	// after another.
	wechat.RedirectSDK(srv.URL())
	t.Cleanup(func() { wechat.RedirectSDK("") })
	conn := redistest.Open(t)
	apps := []token.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}
	tokens := token.New(token.Deps{Redis: conn.Client, Prefix: conn.Prefix, Apps: apps, Fetch: token.NewWeChatFetcher(srv.URL(), token.ModeStable),
		Log: quiet, Registry: prometheus.NewRegistry()})
	wx := wechat.NewClient([]wechat.App{{AppID: sandbox.SandboxAppID, Secret: sandbox.SandboxAppSecret}}, tokens)
	clk := clock.NewManual(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	db = db.Session(&gorm.Session{NowFunc: clk.Now})
	st := store.New(db, clk, quiet)
	fields, err := notify.ParseFields("phrase1=result,thing2=reason,time3=decided_at")
	if err != nil {
		t.Fatal(err)
	}
	c := notify.NewCourier(st, wx, notify.Template{ID: "tmpl-review-result", Page: "pages/verify/verify", Fields: fields}, clk, quiet)
	return &fixture{st: st, srv: srv, courier: c, clk: clk, db: db}
}

// reviewed takes a verification of a new user through review to a staff
// decision to, the way review.Service decides (the message queued in
// the deciding step).
func (f *fixture) reviewed(t *testing.T, openid string, to store.State, reason string) model.Verification {
	t.Helper()
	ctx := context.Background()
	u := model.User{AppID: sandbox.SandboxAppID, OpenID: openid}
	if err := f.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	v, err := f.st.Open(ctx, u.ID, "check", "v1", "user:1", nil, func(model.User, *model.Verification) (*model.Verification, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []store.Change{
		{To: store.Recognized, Event: "idcard_read", Actor: "user:1"},
		{To: store.Checking, Event: "submitted", Actor: "user:1"},
		{To: store.Review, Event: "decided", Actor: "system", Set: store.Patch{Reason: store.Ptr("no_record")}},
		{To: to, Event: "reviewed", Actor: "admin:1", Set: store.Patch{Reason: &reason}, Notify: model.NotifyReviewResult},
	} {
		if v, err = f.st.Step(ctx, v.ID, func(context.Context, *model.Verification) (store.Change, error) { return step, nil }); err != nil {
			t.Fatalf("to %s: %v", step.To, err)
		}
	}
	return v
}

func (f *fixture) sent(t *testing.T) []sandbox.SubscribeMessage {
	t.Helper()
	resp, err := http.Get(f.srv.URL() + "/_sandbox/wechat/subscribe")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Messages []sandbox.SubscribeMessage }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func (f *fixture) status(t *testing.T, vid int64) model.Notification {
	t.Helper()
	var n model.Notification
	if err := f.db.Where("verification_id = ?", vid).Take(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReviewResultIsSent: a decision queues one message; the courier
// sends it once with the template and the configured fields; a WeChat
// outage is retried on the schedule; 43101 (not subscribed) is final.
func TestReviewResultIsSent(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		openid := strings.Repeat("o", 20) + "approved"
		v := f.reviewed(t, openid, store.Verified, "")
		if n, err := f.courier.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("run: %d %v", n, err)
		}
		msgs := f.sent(t)
		if len(msgs) != 1 || msgs[0].ToUser != openid || msgs[0].TemplateID != "tmpl-review-result" || msgs[0].Page != "pages/verify/verify" ||
			msgs[0].Data["phrase1"]["value"] != "认证通过" || msgs[0].Data["time3"]["value"] != "2026-11-23 11:00" || msgs[0].Data["thing2"]["value"] == "" {
			t.Fatalf("sent %+v", msgs)
		}
		if n := f.status(t, v.ID); n.Status != model.NotifySent {
			t.Fatalf("status %+v", n)
		}
		if n, _ := f.courier.RunOnce(ctx); n != 0 || len(f.sent(t)) != 1 {
			t.Fatal("sent twice")
		}

		// WeChat down: retried, not lost.
		if err := f.srv.SetFault(sandbox.Fault{Upstream: sandbox.WeChatUpstream, Mode: sandbox.ModeError}); err != nil {
			t.Fatal(err)
		}
		v2 := f.reviewed(t, strings.Repeat("o", 20)+"rejected", store.Rejected, "photo_unreadable")
		f.courier.RunOnce(ctx)
		n := f.status(t, v2.ID)
		if n.Status != model.NotifyPending || n.Attempts != 1 || !n.NextAttemptAt.After(f.clk.Now()) {
			t.Fatalf("after an outage: %+v", n)
		}
		_ = f.srv.SetFault(sandbox.Fault{Upstream: sandbox.WeChatUpstream, Mode: sandbox.ModeOK})
		if k, _ := f.courier.RunOnce(ctx); k != 0 {
			t.Fatal("retried before its time")
		}
		f.clk.Advance(time.Minute)
		f.courier.RunOnce(ctx)
		if n := f.status(t, v2.ID); n.Status != model.NotifySent || n.Attempts != 2 {
			t.Fatalf("the retry: %+v", n)
		}
		if last := f.sent(t); last[len(last)-1].Data["phrase1"]["value"] != "未通过" {
			t.Fatalf("rejected sent as %+v", last[len(last)-1].Data)
		}

		// Not subscribed: final.
		resp, err := http.Post(f.srv.URL()+"/_sandbox/wechat/subscribe", "application/json", strings.NewReader(`{"refuse":true}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		v3 := f.reviewed(t, strings.Repeat("o", 20)+"refuses!", store.Rejected, "resubmit_requested")
		f.courier.RunOnce(ctx)
		f.clk.Advance(3 * time.Hour)
		f.courier.RunOnce(ctx)
		if n := f.status(t, v3.ID); n.Status != model.NotifyRefused || n.Attempts != 1 {
			t.Fatalf("43101: %+v", n)
		}
		tries := 0
		for _, m := range f.sent(t) {
			if m.ToUser == strings.Repeat("o", 20)+"refuses!" {
				tries++
			}
		}
		if tries != 1 {
			t.Fatalf("43101 tried %d times", tries)
		}
	})
}

// TestErasureDropsTheMessage: a user who erased their data is not
// messaged about it afterwards.
func TestErasureDropsTheMessage(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	ctx := context.Background()
	v := f.reviewed(t, strings.Repeat("e", 28), store.Verified, "")
	if _, err := f.st.Erase(ctx, v.UserID, "user:1"); err != nil {
		t.Fatal(err)
	}
	f.courier.RunOnce(ctx)
	if n := f.status(t, v.ID); n.Status != model.NotifyDropped || len(f.sent(t)) != 0 {
		t.Fatalf("after erasure: %+v, %d sent", n, len(f.sent(t)))
	}
}
