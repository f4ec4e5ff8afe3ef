package redisconn_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"realname/service/redisconn"
	"realname/service/redisconn/redistest"
)

func TestRoundTrip(t *testing.T) {
	conn := redistest.Open(t)
	ctx := context.Background()
	if err := conn.Client.Set(ctx, conn.Key("k"), "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := conn.Client.Get(ctx, conn.Key("k")).Result()
	if err != nil || got != "v" {
		t.Fatalf("get = %q, %v", got, err)
	}
	want := "single"
	if strings.HasPrefix(os.Getenv("REALNAME_TEST_REDIS"), "redis-cluster://") {
		want = "cluster"
	}
	if redistest.Real() && conn.Kind != want {
		t.Fatalf("REALNAME_TEST_REDIS set but kind = %s, want %s", conn.Kind, want)
	}
}

func TestNewClientKinds(t *testing.T) {
	cases := []struct {
		url, kind string
		check     func(t *testing.T, c redis.UniversalClient)
	}{
		{"redis://:pw@10.0.0.1:6380/2", "single", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "10.0.0.1:6380" || o.DB != 2 || o.Password != "pw" {
				t.Errorf("options %+v", o)
			}
		}},
		{"rediss://cache.example:6379", "single", func(t *testing.T, c redis.UniversalClient) {
			if c.(*redis.Client).Options().TLSConfig == nil {
				t.Error("rediss must use TLS")
			}
		}},
		{"redis-sentinel://s1:26379,s2:26379/0?master_name=mymaster", "sentinel", nil},
		{"redis-cluster://n1:6379,n2:6379,n3:6379", "cluster", func(t *testing.T, c redis.UniversalClient) {
			if n := len(c.(*redis.ClusterClient).Options().Addrs); n != 3 {
				t.Errorf("cluster seeds = %d", n)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			c, kind, err := redisconn.NewClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if kind != tc.kind {
				t.Fatalf("kind = %s", kind)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
	for _, bad := range []string{"redis-sentinel://s1:26379", "memcache://x", "redis://h:1?bogus_option=1"} {
		if _, _, err := redisconn.NewClient(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
