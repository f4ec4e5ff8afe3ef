package whstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model"
)

// syncMap is the schema cache schema.Parse wants.
type syncMap = sync.Map

// fixture is a store with its database, for tests that set rows up by hand.
type fixture struct {
	*Store
	db *gorm.DB
}

// newFixture makes a store, one enabled endpoint and n fanned-out events.
func newFixture(t *testing.T, db *gorm.DB, n int) (fixture, int64, []string) {
	t.Helper()
	st := fixture{Store: New(db), db: db}
	e, err := st.CreateEndpoint(context.Background(), model.WebhookEndpoint{URL: "https://receiver.example/hook", Enabled: true},
		func(id int64) ([]byte, error) { return fmt.Appendf(nil, "sealed-%d", id), nil })
	if err != nil {
		t.Fatal(err)
	}
	return st, e.ID, st.events(t, n, true)
}

// events inserts n events, fanned out or not, created a millisecond apart.
func (f fixture) events(t *testing.T, n int, fanned bool) []string {
	t.Helper()
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	ids := make([]string, n)
	rows := make([]model.WebhookEvent, n)
	for i := range rows {
		ids[i] = fmt.Sprintf("evt_%x_%04d", time.Now().UnixNano(), i)
		at := base.Add(time.Duration(i) * time.Millisecond)
		rows[i] = model.WebhookEvent{ID: ids[i], Type: "verification.verified", Payload: `{}`, CreatedAt: at}
		if fanned {
			rows[i].FannedOutAt = &at
		}
	}
	if err := f.db.Create(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// put writes a delivery in state s, due (or leased until) at, under lease
// "L1" when s is Delivering.
func (f fixture) put(t *testing.T, event string, endpoint int64, s State, at time.Time) model.WebhookDelivery {
	t.Helper()
	d := model.WebhookDelivery{EventID: event, EndpointID: endpoint, Status: string(s), NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
	if s == Delivering {
		d.LeaseID, d.LeaseUntil = "L1", &at
	}
	if err := f.db.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	return d
}

func (f fixture) get(t *testing.T, id int64) model.WebhookDelivery {
	t.Helper()
	var d model.WebhookDelivery
	if err := f.db.Where("id = ?", id).Take(&d).Error; err != nil {
		t.Fatal(err)
	}
	return d
}
