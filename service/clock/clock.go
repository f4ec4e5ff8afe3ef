// Package clock is the one source of the current time. serve builds one
// Clock and passes it to every service and to gorm (as its NowFunc), so a
// stored time, an expiry and a "today" all come from the same reading, and
// tests move time by moving one value instead of patching each package.
package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// Stored truncates t to what the databases keep: UTC, milliseconds
// (MySQL's DATETIME(3)). Times read back then compare and hash equal to
// the ones written.
func Stored(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// System is the wall clock, read at stored precision.
type System struct{}

// Now returns the wall-clock time, UTC, in milliseconds.
func (System) Now() time.Time { return Stored(time.Now()) }

// Manual is a clock that moves only when told, for tests and for the bench
// harness's replay of a day. Safe for concurrent use.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a clock standing at t.
func NewManual(t time.Time) *Manual { return &Manual{t: Stored(t)} }

// Now returns the time the clock stands at.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.t = Stored(t)
	m.mu.Unlock()
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.t = Stored(m.t.Add(d))
	m.mu.Unlock()
}

// china is China Standard Time. Mainland China has one zone and no
// daylight saving, so a fixed offset is exact and needs no tzdata on the
// host (distroless images have none).
var china = time.FixedZone("CST", 8*60*60)

// China returns China Standard Time (UTC+8), in which users' "today"
// (daily limits, card validity, age) is counted.
func China() *time.Location { return china }

// Running is a clock that starts at a given moment and runs at the wall
// clock's pace: a whole server under test sees a fixed calendar while its
// timeouts, retries and leases still elapse.
type Running struct {
	start time.Time
	base  time.Time    // the wall clock (with its monotonic reading) at start
	skip  atomic.Int64 // nanoseconds jumped ahead by Advance
}

// NewRunning returns a clock standing at start now and moving from there.
func NewRunning(start time.Time) *Running { return &Running{start: Stored(start), base: time.Now()} }

// Now returns start plus the time elapsed since NewRunning.
func (r *Running) Now() time.Time {
	return Stored(r.start.Add(time.Since(r.base) + time.Duration(r.skip.Load())))
}

// Advance jumps the clock ahead by d, for a test that must see a deadline
// pass (a ticket's expiry) without waiting for it.
func (r *Running) Advance(d time.Duration) { r.skip.Add(int64(d)) }
