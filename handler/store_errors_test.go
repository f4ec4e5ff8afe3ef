package handler

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

func TestStoreUnavailable(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"dial refused":     {fmt.Errorf("verify: latest: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		"too many clients": {fmt.Errorf("x: %w", &pgconn.PgError{Code: "53300"}), true},
		"admin shutdown":   {&pgconn.PgError{Code: "57P01"}, true},
		"redis closed":     {fmt.Errorf("session: %w", redis.ErrClosed), true},
		"pg conn closed":   {fmt.Errorf("login: upsert user: %w", pgconn.ErrConnClosed), true},
		"unique violation": {&pgconn.PgError{Code: "23505"}, false},
		"plain bug":        {errors.New("nil map"), false},
	} {
		if got := storeUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
