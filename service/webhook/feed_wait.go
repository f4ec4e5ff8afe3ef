package webhook

import (
	"context"
	"sync"
	"time"
)

// FeedMaxWait bounds a long-poll of the feed.
const FeedMaxWait = 25 * time.Second

// bell wakes every long-poll waiting on this instance at once: a channel
// closed on each ring and replaced, so a waiter costs no query while it
// waits and a ring between its read and its wait is not lost.
type bell struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBell() *bell { return &bell{ch: make(chan struct{})} }

// waiter is the channel the next ring closes.
func (b *bell) waiter() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// ring wakes everyone waiting now.
func (b *bell) ring() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

// FeedWait is Feed that, when nothing after the cursor exists yet, waits up
// to wait (at most FeedMaxWait) for events to join the feed: it answers as
// soon as one the query selects does, or with the empty page at the
// deadline. While it waits it reads nothing; the fan-out's ring (of this
// instance, or of another through FeedOn's signal) wakes it to read again.
func (s *Service) FeedWait(ctx context.Context, q FeedQuery, wait time.Duration) (FeedPage, error) {
	wait = min(wait, FeedMaxWait)
	deadline := time.NewTimer(max(wait, 0))
	defer deadline.Stop()
	for {
		rung := s.bell.waiter() // before the read: a ring during it is kept
		page, err := s.Feed(ctx, q)
		if err != nil || len(page.Events) > 0 || wait <= 0 {
			return page, err
		}
		q.After = page.Next // past events of other types or apps
		select {
		case <-rung:
		case <-deadline.C:
			return page, nil
		case <-ctx.Done():
			return page, nil
		}
	}
}
