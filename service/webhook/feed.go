package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"realname/service/webhook/internal/whstore"
)

// ErrCursorExpired is a feed cursor from before events retention deleted:
// what followed it is gone, so reading on from it would skip events.
var ErrCursorExpired = errors.New("webhook: the cursor is older than the events kept")

// ErrCursorAhead is a feed cursor above the feed's head: the feed never
// gave it (a typo, another deployment's cursor), and reading on from it
// would answer nothing until the feed caught up, skipping what came before.
var ErrCursorAhead = errors.New("webhook: the cursor is beyond the feed's end")

// Feed limits.
const (
	FeedDefaultLimit = 100
	FeedMaxLimit     = 500
)

// FeedPage is one page of the event feed: the events after a cursor,
// oldest first, in the bodies the webhooks send, and the cursor to read on
// from. Next never goes backwards; with nothing new it is the cursor given
// (or the feed's end, past events of other types).
type FeedPage struct {
	Events []json.RawMessage
	Next   int64
}

// FeedQuery is what a feed reader asks for.
type FeedQuery struct {
	After int64  // the cursor: events numbered after it; negative: from the oldest kept
	Limit int    // at most this many events (FeedDefaultLimit when 0, FeedMaxLimit at most)
	Type  string // only events of this type; "" every type
	AppID string // only events about users of this app; "" every app's
}

// Feed reads the events numbered after q.After, of q.Type and about users
// of q.AppID when given; the cursor moves past the others all the same. A cursor below what
// retention kept is ErrCursorExpired; one above the feed's head is
// ErrCursorAhead (the head only grows, so no cursor the feed gave is).
// Only numbers up to the counter's committed value are read, and every
// number up to it is committed (see number), so a reader that resumes from
// Next receives every event exactly once.
func (s *Service) Feed(ctx context.Context, q FeedQuery) (FeedPage, error) {
	after, limit := q.After, q.Limit
	if limit <= 0 {
		limit = FeedDefaultLimit
	}
	limit = min(limit, FeedMaxLimit)
	page := FeedPage{Events: []json.RawMessage{}}
	seq, err := s.st.FeedCounter(ctx)
	if err != nil {
		return page, fmt.Errorf("webhook: feed: %w", err)
	}
	if after < 0 {
		after = seq.PrunedSeq
	}
	page.Next = after
	if after < seq.PrunedSeq {
		return page, fmt.Errorf("%w (cursor %d, deleted up to %d)", ErrCursorExpired, after, seq.PrunedSeq)
	}
	if after > seq.LastSeq {
		return page, fmt.Errorf("%w (cursor %d, end %d)", ErrCursorAhead, after, seq.LastSeq)
	}
	rows, err := s.st.FeedEvents(ctx, whstore.FeedQuery{After: after, UpTo: seq.LastSeq, Type: q.Type, AppID: q.AppID, Limit: limit})
	if err != nil {
		return page, fmt.Errorf("webhook: feed: %w", err)
	}
	for i := range rows {
		b, err := body(&rows[i])
		if err != nil {
			return page, err
		}
		page.Events = append(page.Events, b)
	}
	switch {
	case len(rows) == limit:
		page.Next = *rows[len(rows)-1].Seq
	case seq.LastSeq > page.Next:
		page.Next = seq.LastSeq // everything up to the end was read (or is of other types or apps)
	}
	return page, nil
}
