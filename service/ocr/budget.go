package ocr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// ErrBusy means the process's image work is at its memory budget and the
// upload waited as long as it may: the client should try again shortly.
var ErrBusy = errors.New("ocr: image processing is at its memory budget")

// Budget bounds the memory that decoding and scaling take across the whole
// process. Each piece of work is charged, before it allocates, what its
// image's header says it will need; work that does not fit waits for
// others to finish, for a short while, then gives up with ErrBusy. Without
// it a handful of legal uploads at once decode gigabytes.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
	// For the metrics: bytes charged now, work that had to wait, work
	// refused with ErrBusy.
	used, waits, busy atomic.Int64
}

// NewBudget returns a budget of size bytes (at least MaxDecodeBytes, so
// the largest accepted image can run) where work waits at most wait.
func NewBudget(size int64, wait time.Duration) *Budget {
	size = max(size, MaxDecodeBytes)
	return &Budget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// Size is the budget in bytes.
func (b *Budget) Size() int64 { return b.size }

// acquire charges n bytes (at most the whole budget) and returns the
// function that gives them back.
func (b *Budget) acquire(ctx context.Context, n int64) (func(), error) {
	n = min(max(n, 1), b.size)
	if !b.sem.TryAcquire(n) {
		b.waits.Add(1)
		wctx, cancel := context.WithTimeout(ctx, b.wait)
		err := b.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			b.busy.Add(1)
			return nil, fmt.Errorf("%w (%d MB wanted, waited %s)", ErrBusy, n>>20, b.wait)
		}
	}
	b.used.Add(n)
	return func() {
		if n >= gcAfter {
			// The decoded pixels are garbage now. Left to the pacer (GOGC),
			// the heap would grow to twice what is live before collecting
			// them, so a few big images in a row doubled the resident size
			// the budget is meant to bound. Collected before the next
			// upload may start, their pages are reused by it; a collection
			// costs a few milliseconds against the hundreds the image took.
			runtime.GC()
		}
		b.used.Add(-n)
		b.sem.Release(n)
	}, nil
}

// Register exports the budget's figures in reg, so an operator sees
// uploads queueing for memory (waits) before they are refused (busy).
func (b *Budget) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "realname_image_budget_bytes",
			Help: "The memory budget of photo decoding and scaling (REALNAME_IMAGE_MEMORY)."},
			func() float64 { return float64(b.size) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "realname_image_budget_used_bytes",
			Help: "Bytes of the image budget charged to work running now."},
			func() float64 { return float64(b.used.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_image_budget_waits_total",
			Help: "Image work that found the budget full and waited for room."},
			func() float64 { return float64(b.waits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "realname_image_busy_total",
			Help: "Image work refused after waiting REALNAME_IMAGE_WAIT for room (the upload answered 503 busy)."},
			func() float64 { return float64(b.busy.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("ocr: register budget metrics: %w", err)
		}
	}
	return nil
}

// gcAfter is the charge from which releasing it collects garbage at once.
const gcAfter = 16 << 20
