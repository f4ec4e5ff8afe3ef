// Package redistest gives tests a Redis connection: the real server named by
// REALNAME_TEST_REDIS when set, else an in-process one. Each test gets its own
// key prefix, so packages testing in parallel on one server never collide.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"realname/service/redisconn"
)

// Open returns a connection whose keys are private to this test and removed
// when it ends.
func Open(t testing.TB) *redisconn.Conn {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":"
	conn, err := redisconn.Open(context.Background(), os.Getenv("REALNAME_TEST_REDIS"), prefix, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		sweep := func(c redis.Cmdable) {
			iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		}
		// A cluster keeps each key on one master: scan every one of them.
		if cc, ok := conn.Client.(*redis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { sweep(c); return nil })
		} else {
			sweep(conn.Client)
		}
		_ = conn.Close()
	})
	return conn
}

// Real reports whether tests run against a real Redis server.
func Real() bool { return os.Getenv("REALNAME_TEST_REDIS") != "" }
