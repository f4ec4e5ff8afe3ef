package token

import (
	"context"
	"strings"
	"time"
)

// invalidatedChannel is where an instance announces a token WeChat
// rejected, so the others drop it from memory at once instead of serving
// it until their own refresh (up to two hours) and each burning a failed
// WeChat call on it. Pub/sub reaches every node of a Redis Cluster.
func (s *Service) invalidatedChannel() string { return s.prefix + "wxtoken:invalidated" }

// announce tells the other instances that token of appID is invalid.
func (s *Service) announce(ctx context.Context, appID, token string) error {
	if err := s.rdb.Publish(ctx, s.invalidatedChannel(), appID+"\x00"+token).Err(); err != nil {
		return redisError{err}
	}
	return nil
}

// drop forgets token of st locally if it is the cached one, and remembers
// it as bad so no refresh hands it out again.
func (s *Service) drop(st *appState, token string) bool {
	st.bad.Store(&token)
	if c := st.cur.Load(); c != nil && c.Value == token {
		return st.cur.CompareAndSwap(c, nil)
	}
	return false
}

// Run listens for other instances' invalidations until ctx ends. A
// message lost while Redis is away costs what it cost before: the token
// is found bad when WeChat rejects it, and dropped then.
func (s *Service) Run(ctx context.Context) {
	for ctx.Err() == nil {
		sub := s.rdb.Subscribe(ctx, s.invalidatedChannel())
		ch := sub.Channel()
	recv:
		for {
			select {
			case <-ctx.Done():
				break recv
			case msg, ok := <-ch:
				if !ok {
					break recv
				}
				appID, token, found := strings.Cut(msg.Payload, "\x00")
				if st := s.apps[appID]; found && st != nil && token != "" && s.drop(st, token) {
					s.log.Info("access_token invalidated by another instance; dropped", "appid", appID)
				}
			}
		}
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
