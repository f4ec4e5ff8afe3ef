package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"realname/model"
	"realname/service/webhook/internal/whstore"
)

// target is an enabled endpoint as the workers need it: where, and the
// keys to sign with.
type target struct {
	id           int64
	url          string
	keys         [][]byte
	allowPrivate bool
	failingSince *time.Time // as loaded; health() writes only when this says a change is due
}

// targetCache spares every claim a query and a decryption per endpoint.
// It is refreshed every few poll intervals and dropped by this instance's
// own endpoint changes; other instances' changes show within its age.
type targetCache struct {
	mu  sync.Mutex
	at  time.Time
	all map[int64]*target
}

func (s *Service) targetTTL() time.Duration { return min(5*time.Second, 5*s.opts.PollInterval) }

// invalidateTargets makes the next claim reload the endpoints.
func (s *Service) invalidateTargets() {
	s.targets.mu.Lock()
	s.targets.all = nil
	s.targets.mu.Unlock()
}

// enabledTargets returns the enabled endpoints whose secrets open. One that
// does not (its key left the key ring) is skipped, loudly: its deliveries
// wait rather than burn their retries on our mistake.
func (s *Service) enabledTargets(ctx context.Context) (map[int64]*target, error) {
	s.targets.mu.Lock()
	defer s.targets.mu.Unlock()
	if s.targets.all != nil && time.Since(s.targets.at) < s.targetTTL() {
		return s.targets.all, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	rows, err := s.st.EnabledEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	all := make(map[int64]*target, len(rows))
	for i := range rows {
		e := &rows[i]
		keys, err := s.keys(e, now)
		if err != nil {
			s.log.Error("webhook endpoint skipped: its secret does not open", "endpoint", e.ID, "err", err)
			continue
		}
		// A flag stored while the switch was available is not honoured
		// once configuration takes it away.
		all[e.ID] = &target{id: e.ID, url: e.URL, keys: keys, allowPrivate: e.AllowPrivate && s.opts.PrivateNetworks, failingSince: e.FailingSince}
	}
	s.targets.all, s.targets.at = all, time.Now()
	return all, nil
}

// claim takes up to BatchSize due deliveries of the given endpoints and
// leases them to the caller under a fresh lease id. Rows another instance
// is claiming at the same moment are skipped, not waited for.
func (s *Service) claim(ctx context.Context, endpointIDs []int64) ([]whstore.Claimed, string, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	now := s.now()
	lease := whstore.Lease{ID: newLeaseID(), Until: now.Add(s.opts.Lease)}
	ds, err := s.st.Claim(ctx, endpointIDs, s.opts.BatchSize, lease, now)
	return ds, lease.ID, err
}

func newLeaseID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// events returns the events of the deliveries, by id: those the claim
// read with them (PostgreSQL's), and the others read now.
func (s *Service) events(ctx context.Context, ds []whstore.Claimed) (map[string]*model.WebhookEvent, error) {
	out := make(map[string]*model.WebhookEvent, len(ds))
	var missing []string
	for i := range ds {
		if ds[i].Event != nil {
			out[ds[i].EventID] = ds[i].Event
		} else {
			missing = append(missing, ds[i].EventID)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	events, err := s.st.Events(ctx, missing)
	if err != nil {
		return nil, err
	}
	for i := range events {
		out[events[i].ID] = &events[i]
	}
	return out, nil
}
