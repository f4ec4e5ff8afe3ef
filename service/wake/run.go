package wake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"realname/model"
)

// Backoff bounds between reconnections of a failed listener.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Run listens for other instances' wake-ups and publishes this one's until
// ctx ends: one PostgreSQL connection doing LISTEN, or a Redis
// subscription and a publisher per line.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	switch {
	case h.postgres():
		wg.Go(func() { h.reconnecting(ctx, "postgres", h.listenPostgres) })
	case h.opts.Redis != nil:
		wg.Go(func() { h.reconnecting(ctx, "redis", h.listenRedis) })
		for _, l := range h.lines {
			wg.Go(func() { h.publishLoop(ctx, l) })
		}
	}
	wg.Wait()
}

// reconnecting runs listen again each time it fails, after a backoff that
// doubles (with jitter) up to maxBackoff and starts over once a connection
// has worked. Wake-ups missed meanwhile cost a poll interval at most.
func (h *Hub) reconnecting(ctx context.Context, what string, listen func(ctx context.Context, up func()) error) {
	wait := minBackoff
	for ctx.Err() == nil {
		err := listen(ctx, func() { wait = minBackoff })
		if ctx.Err() != nil {
			return
		}
		h.opts.Log.Warn("webhook wake-up listener lost; reconnecting (the poll covers meanwhile)", "via", what, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// listenPostgres holds one dedicated connection in LISTEN until it fails.
func (h *Hub) listenPostgres(ctx context.Context, up func()) error {
	cfg, err := pgx.ParseConfig(h.opts.PostgresDSN)
	if err != nil {
		return fmt.Errorf("wake: database URL: %w", err)
	}
	// Named, so an operator (or a test) can tell it in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "realname-wake"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("wake: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	// The deployment's own channel last: pg_stat_activity shows the last
	// query, and so which deployment a listening connection serves.
	for _, ch := range []string{model.OutboxWakeChannel, h.channel()} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("wake: listen: %w", err)
		}
	}
	up()
	h.fireAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wake: wait: %w", err)
		}
		if l := h.lines[Signal(n.Payload)]; l != nil {
			l.fire()
		}
	}
}

// listenRedis holds one subscription until it fails. A message is
// "<instance> <signal>"; this instance's own were delivered in-process.
func (h *Hub) listenRedis(ctx context.Context, up func()) error {
	sub := h.opts.Redis.Subscribe(ctx, h.channel())
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("wake: subscribe: %w", err)
	}
	up()
	h.fireAll()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg, ok := <-ch:
			if !ok {
				return fmt.Errorf("wake: subscription closed")
			}
			from, sig, _ := strings.Cut(msg.Payload, " ")
			if l := h.lines[Signal(sig)]; l != nil && from != h.id {
				l.fire()
			}
		}
	}
}

// publishLoop publishes l's wake-ups to Redis as Committed asks for them.
// A failure is logged at most once a minute: the poll covers for it.
func (h *Hub) publishLoop(ctx context.Context, l *Line) {
	var warned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.publish:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := h.opts.Redis.Publish(pctx, h.channel(), h.id+" "+string(l.sig)).Err()
		cancel()
		if err != nil && ctx.Err() == nil && time.Since(warned) > time.Minute {
			warned = time.Now()
			h.opts.Log.Warn("webhook wake-up not published; other instances find the work at their next poll", "err", err)
		}
	}
}
