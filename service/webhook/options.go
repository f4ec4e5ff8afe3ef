package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"realname/service/clock"
	"strings"
	"time"
)

// Options tunes the dispatcher. A zero field takes its default, so
// Options{} is the production setting.
type Options struct {
	// Schedule is the wait before each retry: a delivery is tried once,
	// then once more after each entry, then marked failed.
	Schedule []time.Duration
	// Timeout bounds one POST, connection and answer included.
	Timeout time.Duration
	// Lease is how long a claimed delivery belongs to its worker; a worker
	// that crashed loses it after this. At least twice Timeout, so a live
	// worker never loses a delivery it is still sending.
	Lease time.Duration
	// BatchSize is how many deliveries a worker claims and sends at once.
	BatchSize int
	// FanoutBatch is how many outbox events one fan-out transaction takes.
	FanoutBatch int
	// Workers is the number of claiming workers in this instance.
	Workers int
	// PollInterval is the pause of an idle worker or fan-out loop. With
	// WakeOn they start at once when work is committed, so the poll is
	// only the safety net for a lost wake-up.
	PollInterval time.Duration
	// DisableAfter disables an endpoint whose deliveries have failed
	// without a single success for this long; negative never disables.
	DisableAfter time.Duration
	// RotationGrace is how long the previous secret keeps signing after a
	// rotation.
	RotationGrace time.Duration
	// MaxRetryAfter caps a receiver's Retry-After, so a typo on their side
	// cannot park a delivery for a year.
	MaxRetryAfter time.Duration
	// MetricsInterval is how often the backlog gauges are refreshed.
	MetricsInterval time.Duration
	// Retention is how long finished deliveries (succeeded or failed), their
	// attempts and their events are kept, for the admin pages and replays;
	// negative keeps them forever.
	Retention time.Duration
	// PruneInterval is how often each instance deletes what Retention lets go.
	PruneInterval time.Duration
	// PrivateNetworks honours the endpoints' private-network switch: an
	// endpoint with it on may reach RFC 1918 and IPv6 ULA addresses (never
	// loopback, link-local, metadata or other special ranges). Off, the
	// switch can be neither set nor used: production without
	// REALNAME_WEBHOOK_ALLOW_PRIVATE.
	PrivateNetworks bool
	// AllowCIDRs are destinations every endpoint may reach whatever their
	// class, e.g. the business system's subnet, or loopback for a test's
	// receiver; a metadata address only by an entry naming that host.
	AllowCIDRs []netip.Prefix
	// Clock is the process's clock, the one the database stamps rows with;
	// the wall clock when nil.
	Clock clock.Clock
}

// DefaultSchedule is the retry schedule when Options.Schedule is empty:
// eight tries spread over about 28 hours.
func DefaultSchedule() []time.Duration {
	return []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
		5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// withDefaults fills zero fields and checks the combination.
func (o Options) withDefaults() (Options, error) {
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule()
	}
	o.Schedule = append([]time.Duration(nil), o.Schedule...) // the caller's slice stays theirs
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	def(&o.Timeout, 10*time.Second)
	def(&o.Lease, max(time.Minute, 2*o.Timeout))
	def(&o.PollInterval, 5*time.Second)
	def(&o.DisableAfter, 5*24*time.Hour)
	def(&o.RotationGrace, 24*time.Hour)
	def(&o.MaxRetryAfter, 24*time.Hour)
	def(&o.MetricsInterval, 15*time.Second)
	def(&o.Retention, 30*24*time.Hour)
	def(&o.PruneInterval, 10*time.Minute)
	if o.BatchSize == 0 {
		o.BatchSize = 200
	}
	if o.FanoutBatch == 0 {
		o.FanoutBatch = 500
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	var errs []error
	for i, d := range o.Schedule {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("schedule entry %d is not positive", i+1))
		}
	}
	if o.Timeout < 0 || o.PollInterval < 0 || o.RotationGrace < 0 || o.MaxRetryAfter < 0 || o.MetricsInterval < 0 || o.PruneInterval < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if o.Lease < 2*o.Timeout {
		errs = append(errs, fmt.Errorf("lease %v must be at least twice the timeout %v", o.Lease, o.Timeout))
	}
	if o.BatchSize < 1 || o.FanoutBatch < 1 || o.Workers < 1 {
		errs = append(errs, errors.New("batch sizes and workers must be positive"))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("webhook: options: %w", errors.Join(errs...))
	}
	return o, nil
}

// ParseSchedule reads a retry schedule from configuration, e.g.
// ["5s", "5m", "30m", "2h", "5h", "10h", "10h"].
func ParseSchedule(entries []string) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(entries))
	for _, e := range entries {
		d, err := time.ParseDuration(strings.TrimSpace(e))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("webhook: schedule entry %q is not a positive duration", e)
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseCIDRs reads an allow list from configuration, e.g. ["10.1.0.0/16",
// "fd00:1::/64"]; a bare address means that one host.
func ParseCIDRs(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("webhook: %q is neither a CIDR prefix nor an IP address", e)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
