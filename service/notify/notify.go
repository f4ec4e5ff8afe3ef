// Package notify sends the messages a verification's user is owed — a
// WeChat subscription message (订阅消息) when a review ends — from the
// notifications outbox the verification store fills in the deciding
// step. A courier leases due rows, sends, and retries on a schedule, so a
// WeChat outage never blocks or loses a decision; a user who did not
// subscribe (43101) is final, not retried.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"realname/model"
	"realname/service/clock"
	"realname/service/store"
	"realname/service/wechat"
	"realname/service/wording"
)

// Sender delivers a subscription message (the wechat.Client).
type Sender interface {
	SendSubscribe(ctx context.Context, appID string, msg wechat.SubscribeMessage) error
}

// Template is the subscription template of the review result and which
// of our values fills each of its keywords.
type Template struct {
	ID    string
	Page  string // opened from the message, e.g. pages/verify/verify
	State string // miniprogram_state: formal (default), trial, developer
	// Fields maps a template keyword (phrase1, thing2, time3 …) to a
	// source: result (通过/未通过/请重新提交), reason (its words), decided_at
	// (China time), name (masked).
	Fields map[string]string
}

// Sources are the values Template.Fields may name.
var Sources = []string{"result", "reason", "decided_at", "name"}

// ParseFields reads "phrase1=result,thing2=reason,time3=decided_at".
func ParseFields(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" || len(k) > 32 || !known(v) {
			return nil, fmt.Errorf("notify: %q is not keyword=source with source one of %s", part, strings.Join(Sources, ", "))
		}
		out[k] = v
	}
	return out, nil
}

func known(src string) bool {
	for _, s := range Sources {
		if s == src {
			return true
		}
	}
	return false
}

// Courier sends due notifications.
type Courier struct {
	st       *store.Store
	send     Sender
	tpl      Template
	clk      clock.Clock
	log      *slog.Logger
	schedule []time.Duration
	poll     time.Duration
}

// NewCourier returns a courier of st's notifications through send. Retries
// wait 30s, 2m, 10m, 30m, 2h; then the message is given up (failed).
func NewCourier(st *store.Store, send Sender, tpl Template, clk clock.Clock, log *slog.Logger) *Courier {
	if tpl.State == "" {
		tpl.State = "formal"
	}
	return &Courier{st: st, send: send, tpl: tpl, clk: clk, log: log.With("component", "notify"),
		schedule: []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, 2 * time.Hour},
		poll:     2 * time.Second}
}

// Run sends until ctx ends.
func (c *Courier) Run(ctx context.Context) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		if _, err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("sending notifications failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce sends what is due now and reports how many it tried.
func (c *Courier) RunOnce(ctx context.Context) (int, error) {
	due, err := c.st.DueNotifications(ctx, 20, time.Minute)
	if err != nil {
		return 0, err
	}
	for _, n := range due {
		status, why, next := c.deliver(ctx, n)
		if err := c.st.NotificationDone(ctx, n, status, why, next); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

// deliver sends one notification and says what became of it.
func (c *Courier) deliver(ctx context.Context, n model.Notification) (status, why string, next time.Time) {
	now := c.clk.Now()
	to, err := c.st.RecipientOf(ctx, n)
	if err != nil {
		return c.retry(n, err.Error(), now)
	}
	if to.Erased {
		return model.NotifyDropped, "the user erased their data", now
	}
	v, err := c.st.Get(ctx, n.VerificationID)
	if err != nil {
		return c.retry(n, err.Error(), now)
	}
	if v.ErasedAt != nil {
		return model.NotifyDropped, "the verification was erased", now
	}
	msg := wechat.SubscribeMessage{ToUser: to.OpenID, TemplateID: c.tpl.ID, Page: c.tpl.Page, State: c.tpl.State, Data: c.fields(v)}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = c.send.SendSubscribe(sctx, to.AppID, msg)
	cancel()
	var api *wechat.APIError
	switch {
	case err == nil:
		return model.NotifySent, "", now
	case errors.As(err, &api) && api.Code == 43101:
		return model.NotifyRefused, "43101: the user did not subscribe", now
	case errors.As(err, &api) && (api.Code == 40003 || api.Code == 40037 || api.Code == 47003):
		// Our configuration or data: retrying sends the same.
		c.log.Warn("WeChat refused the subscription message", "errcode", api.Code, "template", c.tpl.ID)
		return model.NotifyFailed, fmt.Sprintf("%d: %s", api.Code, api.Msg), now
	}
	return c.retry(n, err.Error(), now)
}

// retry schedules the next attempt, or gives up after the last.
func (c *Courier) retry(n model.Notification, why string, now time.Time) (string, string, time.Time) {
	if n.Attempts >= len(c.schedule) {
		return model.NotifyFailed, why, now
	}
	return model.NotifyPending, why, now.Add(c.schedule[n.Attempts])
}

// fields fills the template's keywords from v, within the keyword types'
// lengths (thing 20 characters, phrase 5).
func (c *Courier) fields(v model.Verification) map[string]string {
	out := make(map[string]string, len(c.tpl.Fields))
	for key, src := range c.tpl.Fields {
		var val string
		switch src {
		case "result":
			val = result(v)
		case "reason":
			val = wording.Reason(wording.Chinese, v.Reason)
			if val == "" {
				val = wording.Status(wording.Chinese, string(v.State), v.Reason, "")
			}
		case "decided_at":
			at := v.UpdatedAt
			if v.DecidedAt != nil {
				at = *v.DecidedAt
			}
			val = at.In(clock.China()).Format("2006-01-02 15:04")
		case "name":
			val = v.NameMasked
		}
		out[key] = clip(key, val)
	}
	return out
}

func result(v model.Verification) string {
	switch {
	case v.State == store.Verified:
		return "认证通过"
	case v.Reason == "resubmit_requested":
		return "请重新提交"
	}
	return "未通过"
}

// clip bounds a value to its keyword type's documented length.
func clip(key, v string) string {
	limit := 20
	switch {
	case strings.HasPrefix(key, "phrase"):
		limit = 5
	case strings.HasPrefix(key, "thing"):
		limit = 20
	case strings.HasPrefix(key, "time"), strings.HasPrefix(key, "date"):
		limit = 32
	}
	if utf8.RuneCountInString(v) <= limit {
		return v
	}
	r := []rune(v)
	return string(r[:limit-1]) + "…"
}
