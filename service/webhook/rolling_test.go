package webhook_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model/modeltest"
	"realname/service/webhook"
)

// TestRollingStartLosesNoEvent: instances starting with and without the
// configured endpoint (a rolling deploy), and an admin disabling it for a
// while, lose no event: every id reaches the receiver.
func TestRollingStartLosesNoEvent(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rcv := newReceiver(t)
		secret, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		rcv.setSecrets(secret)
		ring := testRing(t)
		spec := webhook.EndpointSpec{URL: rcv.URL(), Secret: secret}
		a, _ := newService(t, db, ring, fastOptions())
		b, _ := newService(t, db, ring, fastOptions())
		if err := a.EnsureConfigured(ctx, spec); err != nil {
			t.Fatal(err)
		}
		run(t, a)
		ids := insertEvents(t, db, 6, 2, 20*time.Millisecond)
		// B starts without REALNAME_WEBHOOK_URL while events keep coming.
		if err := b.EnsureConfigured(ctx, webhook.EndpointSpec{}); err != nil {
			t.Fatal(err)
		}
		run(t, b)
		ids = append(ids, insertEvents(t, db, 6, 2, 20*time.Millisecond)...)
		// An admin disables the endpoint; events created meanwhile wait.
		list, err := a.Endpoints(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("endpoints: %+v %v", list, err)
		}
		if err := a.DisableEndpoint(ctx, list[0].ID, ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, insertEvents(t, db, 6, 2, 20*time.Millisecond)...)
		eventually(t, 20*time.Second, "the fan-out while disabled", func() bool {
			bl, err := a.Backlog(ctx)
			return err == nil && bl.Unfanned == 0
		})
		if err := b.EnableEndpoint(ctx, list[0].ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "every event delivered", func() bool {
			for _, id := range ids {
				if rcv.count(id) == 0 {
					return false
				}
			}
			return true
		})
		rcv.check()
	})
}
