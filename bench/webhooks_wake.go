package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"realname/model"
	"realname/service/wake"
	"realname/service/webhook"
)

// wireWake gives every instance a wake hub, as serve does (PostgreSQL
// NOTIFY between instances; Redis pub/sub on MySQL when -redis is given,
// else each instance wakes only itself), and returns the line the writer announces its
// commits on and a stop for the hubs.
func wireWake(ctx context.Context, services []*webhook.Service, dsn, dialect, prefix string, rdb redis.UniversalClient) (*wake.Line, func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var writer *wake.Line
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i, s := range services {
		hub := wake.New(wake.Options{Dialect: dialect, PostgresDSN: dsn, Redis: rdb, Prefix: prefix, Log: quiet})
		wg.Go(func() { hub.Run(ctx) })
		s.WakeOn(hub.Line(wake.Outbox), hub.Line(wake.Deliveries))
		s.FeedOn(hub.Line(wake.Feed))
		if i == 0 {
			writer = hub.Line(wake.Outbox)
		}
	}
	return writer, func() { cancel(); wg.Wait() }
}

// insertEvents writes rows in one transaction and announces the commit on
// line (nil: nobody is told, the dispatchers' poll finds them).
func insertEvents(ctx context.Context, db *gorm.DB, rows []model.WebhookEvent, line *wake.Line) error {
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
		if line != nil {
			return line.Stage(tx)
		}
		return nil
	})
	if err == nil && line != nil {
		line.Committed()
	}
	return err
}

// feedReader long-polls the feed of one instance from its head, as a
// business system reading it would, and records when each event became
// visible there.
type feedReader struct {
	mu   sync.Mutex
	seen map[string]time.Time
	done chan struct{}
}

// startFeedReader begins at the feed's current head.
func startFeedReader(ctx context.Context, s *webhook.Service) (*feedReader, error) {
	cursor := int64(-1)
	for {
		page, err := s.Feed(ctx, webhook.FeedQuery{After: cursor, Limit: webhook.FeedMaxLimit})
		if err != nil {
			return nil, err
		}
		cursor = page.Next
		if len(page.Events) == 0 {
			break
		}
	}
	r := &feedReader{seen: map[string]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			page, err := s.FeedWait(ctx, webhook.FeedQuery{After: cursor, Limit: webhook.FeedMaxLimit}, webhook.FeedMaxWait)
			if err != nil {
				return
			}
			now := time.Now()
			r.mu.Lock()
			for _, raw := range page.Events {
				var ev struct{ ID string }
				if json.Unmarshal(raw, &ev) == nil {
					r.seen[ev.ID] = now
				}
			}
			r.mu.Unlock()
			cursor = page.Next
		}
	}()
	return r, nil
}

// latencies are commit → visible in the feed, sorted.
func (r *feedReader) latencies(created map[string]time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sinceCommit(created, r.seen)
}
