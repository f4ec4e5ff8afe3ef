// Package wake tells the webhook fan-out and delivery workers of every
// instance that work has just been committed, so they start at once instead
// of at their next poll. A wake-up is only a hint: the rows are the work,
// and the poll still finds them when a wake-up is lost (a listener
// reconnecting, Redis away), only later.
//
// Across instances a wake-up travels by PostgreSQL LISTEN/NOTIFY (the
// NOTIFY is staged in the writing transaction and delivered at its commit)
// or, on MySQL and SQLite, by a Redis pub/sub message published after the
// commit. Within an instance it is a function call.
package wake

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
)

// Signal names what was committed.
type Signal string

const (
	// Outbox says webhook events were written: the fan-out has work.
	Outbox Signal = "outbox"
	// Deliveries says deliveries were queued: the workers have work.
	Deliveries Signal = "deliveries"
	// Feed says events were numbered into the feed: long-polling readers
	// have something to read.
	Feed Signal = "feed"
)

// Options configure a Hub.
type Options struct {
	// Dialect is the database's (model.Dialect*): PostgreSQL carries
	// wake-ups itself, the others through Redis.
	Dialect string
	// PostgresDSN is the database URL the listening connection opens.
	PostgresDSN string
	// Redis carries wake-ups on MySQL and SQLite; nil keeps them in-process.
	Redis redis.UniversalClient
	// Prefix is the deployment's Redis key prefix; it names the channels,
	// so deployments sharing a database server or Redis do not wake each other.
	Prefix string
	// Log receives the listener's troubles.
	Log *slog.Logger
}

// Hub is one instance's end of the wake-up lines. Its Run owns the
// listening connection and the publisher; without Run, wake-ups stay
// in-process.
type Hub struct {
	opts  Options
	id    string // this instance, so it skips its own Redis messages
	lines map[Signal]*Line
}

// New returns a hub with one line per Signal.
func New(opts Options) *Hub {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	h := &Hub{opts: opts, id: hex.EncodeToString(b), lines: map[Signal]*Line{}}
	for _, sig := range []Signal{Outbox, Deliveries, Feed} {
		h.lines[sig] = &Line{hub: h, sig: sig, publish: make(chan struct{}, 1)}
	}
	return h
}

// Line returns the line of sig (Outbox, Deliveries or Feed).
func (h *Hub) Line(sig Signal) *Line { return h.lines[sig] }

// postgres reports whether wake-ups between instances go through the database.
func (h *Hub) postgres() bool { return h.opts.Dialect == model.DialectPostgres }

// channel is the name of the PostgreSQL or Redis channel of this deployment.
func (h *Hub) channel() string { return h.opts.Prefix + "webhook_wake" }

// fireAll wakes every local listener: after a (re)connect, anything
// committed while nobody listened is looked for at once.
func (h *Hub) fireAll() {
	for _, l := range h.lines {
		l.fire()
	}
}

// Line is one kind of wake-up: writers stage and announce it, listeners
// are called when any instance announced it.
type Line struct {
	hub       *Hub
	sig       Signal
	mu        sync.Mutex
	listeners []func()
	publish   chan struct{} // holds one token while a Redis publish is due
}

// Listen registers fn, called on every wake-up of this line. fn must not
// block: it is called from writers' goroutines and the listener's.
func (l *Line) Listen(fn func()) {
	l.mu.Lock()
	l.listeners = append(l.listeners, fn)
	l.mu.Unlock()
}

// Stage is called inside the writing transaction: on PostgreSQL it queues a
// NOTIFY, which the server delivers to every listener when, and only if,
// the transaction commits.
func (l *Line) Stage(tx *gorm.DB) error {
	if !l.hub.postgres() || l.sig == Outbox {
		// Outbox: the insert of the webhook events raised it already
		// (migration 0018's trigger, on model.OutboxWakeChannel).
		return nil
	}
	return tx.Exec("SELECT pg_notify(?, ?)", l.hub.channel(), string(l.sig)).Error
}

// Committed is called after the writing transaction committed: it wakes
// this instance's listeners now and, on MySQL and SQLite, has the hub
// publish to the others. It never blocks on the network: the publish is
// left to Run, and commits during one publish share the next.
func (l *Line) Committed() {
	l.fire()
	if l.hub.postgres() || l.hub.opts.Redis == nil {
		return
	}
	select {
	case l.publish <- struct{}{}:
	default:
	}
}

func (l *Line) fire() {
	l.mu.Lock()
	fns := l.listeners
	l.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
