package redisconn_test

import (
	"testing"

	"realname/service/redisconn/redistest"
)

// TestPersistenceOfTheTestRedis: the test servers run with neither AOF
// nor snapshots (--save "" --appendonly no), which Persistence must tell.
func TestPersistenceOfTheTestRedis(t *testing.T) {
	if !redistest.Real() {
		t.Skip("REALNAME_TEST_REDIS not set")
	}
	conn := redistest.Open(t)
	p, err := conn.Persistence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Known || p.Persists() {
		t.Fatalf("the CI Redis reads as %+v", p)
	}
	// Turned on at runtime, AOF is seen (and turned off again). A Cluster
	// would need it on every master.
	if conn.Kind != "single" {
		return
	}
	if err := conn.Client.ConfigSet(t.Context(), "appendonly", "yes").Err(); err != nil {
		t.Skipf("CONFIG SET refused: %v", err)
	}
	defer conn.Client.ConfigSet(t.Context(), "appendonly", "no")
	if p, err := conn.Persistence(t.Context()); err != nil || !p.AOF {
		t.Fatalf("with appendonly: %+v %v", p, err)
	}
}
