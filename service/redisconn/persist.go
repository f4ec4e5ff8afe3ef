package redisconn

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Persistence is what Redis keeps across a restart. The daily and
// per-number limits and every session live only in Redis: a server that
// restarts empty resets them, so production needs AOF (or at least RDB
// snapshots).
type Persistence struct {
	AOF   bool // appendonly is on (on every master of a Cluster)
	RDB   bool // a snapshot schedule is set ("save" not empty) on every master
	Known bool // false when the server refused to say (CONFIG disabled, as on some managed Redis)
}

// Persists reports whether a restart keeps the data.
func (p Persistence) Persists() bool { return p.AOF || p.RDB }

// Persistence asks the server (every master of a Cluster) how it persists.
func (c *Conn) Persistence(ctx context.Context) (Persistence, error) {
	if c.mini != nil {
		return Persistence{Known: true}, nil // the in-process Redis keeps nothing
	}
	cc, ok := c.Client.(*redis.ClusterClient)
	if !ok {
		return persistence(ctx, c.Client)
	}
	var mu sync.Mutex
	all := Persistence{AOF: true, RDB: true, Known: true}
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		p, err := persistence(ctx, node)
		mu.Lock()
		defer mu.Unlock()
		all.AOF, all.RDB, all.Known = all.AOF && p.AOF, all.RDB && p.RDB, all.Known && p.Known
		return err
	})
	return all, err
}

func persistence(ctx context.Context, rdb redis.Cmdable) (Persistence, error) {
	info, err := rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return Persistence{}, fmt.Errorf("redisconn: info persistence: %w", err)
	}
	var p Persistence
	p.AOF = strings.Contains(info, "aof_enabled:1")
	save, err := rdb.ConfigGet(ctx, "save").Result()
	if err != nil {
		return p, nil // CONFIG refused: AOF is what INFO tells
	}
	p.Known = true
	p.RDB = strings.TrimSpace(save["save"]) != ""
	return p, nil
}
