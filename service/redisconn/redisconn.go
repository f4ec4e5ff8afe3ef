// Package redisconn opens the Redis connection every instance shares: a single
// server, Sentinel or Cluster chosen by URL, or an in-process Redis for
// development when no URL is configured.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Conn is an open Redis connection and the key prefix every user of it applies.
type Conn struct {
	Client redis.UniversalClient
	Prefix string
	Kind   string // single, sentinel, cluster or in-process
	mini   *miniredis.Miniredis
}

// Open connects to rawURL and pings it. An empty URL starts an in-process
// Redis (miniredis) and says loudly that it is not for production: its data
// is lost on restart and it is not shared between instances.
func Open(ctx context.Context, rawURL, prefix string, log *slog.Logger) (*Conn, error) {
	if rawURL == "" {
		mini := miniredis.NewMiniRedis()
		if err := mini.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("redisconn: start in-process redis: %w", err)
		}
		log.Warn("using an in-process Redis: NOT FOR PRODUCTION — sessions, token cache and rate limits are lost on restart and not shared between instances; set REALNAME_REDIS_URL",
			"listen", mini.Addr())
		c := &Conn{Client: redis.NewClient(&redis.Options{Addr: mini.Addr()}), Prefix: prefix, Kind: "in-process", mini: mini}
		return c, nil
	}
	client, kind, err := NewClient(rawURL)
	if err != nil {
		return nil, err
	}
	c := &Conn{Client: client, Prefix: prefix, Kind: kind}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return c, nil
}

// NewClient builds a client from a URL without connecting:
//
//	redis://[user:pass@]host:port/db, rediss://… (TLS)
//	redis-sentinel://[user:pass@]sentinel1:26379,sentinel2:26379/db?master_name=mymaster
//	redis-cluster://[user:pass@]node1:6379,node2:6379
//
// Query parameters are go-redis option names in snake case (dial_timeout, …).
func NewClient(rawURL string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", errors.New("redisconn: REALNAME_REDIS_URL does not parse") // may hold a password: not echoed
	}
	base, mode, _ := strings.Cut(u.Scheme, "-")
	hosts := strings.Split(u.Host, ",")
	// go-redis takes extra hosts as repeated addr= parameters.
	u.Scheme, u.Host = base, hosts[0]
	q := u.Query()
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	u.RawQuery = q.Encode()
	switch mode {
	case "":
		opts, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisconn: %w", err)
		}
		return redis.NewClient(opts), "single", nil
	case "sentinel":
		opts, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisconn: %w", err)
		}
		if opts.MasterName == "" {
			return nil, "", errors.New("redisconn: a sentinel URL needs ?master_name=")
		}
		return redis.NewFailoverClient(opts), "sentinel", nil
	case "cluster":
		opts, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisconn: %w", err)
		}
		return redis.NewClusterClient(opts), "cluster", nil
	}
	return nil, "", fmt.Errorf("redisconn: unsupported scheme %q", u.Scheme)
}

// Key returns the full key for name under this deployment's prefix.
func (c *Conn) Key(name string) string { return c.Prefix + name }

// Ping checks that Redis answers.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisconn: ping: %w", err)
	}
	return nil
}

// Close closes the client and stops the in-process server if there is one.
func (c *Conn) Close() error {
	err := c.Client.Close()
	if c.mini != nil {
		c.mini.Close()
	}
	return err
}
