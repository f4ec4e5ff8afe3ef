package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// dist is a latency distribution.
type dist struct {
	n                  int
	p50, p95, p99, max time.Duration
}

// distOf sorts d (in place) and reads its percentiles, nearest rank.
func distOf(d []time.Duration) dist {
	if len(d) == 0 {
		return dist{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return dist{n: len(d), p50: at(0.50), p95: at(0.95), p99: at(0.99), max: d[len(d)-1]}
}

// ms renders a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// printSteps prints one line per step and one for the whole verification,
// and returns the highest step p99 (the summary's p99_ms).
func printSteps(w io.Writer, prefix string, r loadResult, latency time.Duration) time.Duration {
	var worst time.Duration
	for s := range nSteps {
		d := distOf(r.lat[s])
		if s > stepSubmit && d.n == 0 {
			continue // the face step, in a run without it
		}
		worst = max(worst, d.p99)
		extra := ""
		if latency > 0 {
			// Each step makes one upstream call, delayed by latency.
			extra = " p99_overhead_ms=" + ms(d.p99-latency)
		}
		fmt.Fprintf(w, "%s step=%-12s n=%-6d p50_ms=%-7s p95_ms=%-7s p99_ms=%-7s max_ms=%s%s\n",
			prefix, stepNames[s], d.n, ms(d.p50), ms(d.p95), ms(d.p99), ms(d.max), extra)
	}
	d := distOf(r.flow)
	fmt.Fprintf(w, "%s step=%-12s n=%-6d p50_ms=%-7s p95_ms=%-7s p99_ms=%-7s max_ms=%s\n",
		prefix, "verification", d.n, ms(d.p50), ms(d.p95), ms(d.p99), ms(d.max))
	return worst
}

// printErrors prints the failed requests by step, status and code, with
// an example answer each.
func printErrors(w io.Writer, prefix string, t *flowTally) {
	fmt.Fprintf(w, "%s errors=%d\n", prefix, t.errorCount())
	for _, k := range slices.Sorted(maps.Keys(t.errors)) {
		fmt.Fprintf(w, "%s   %-45s %6d  e.g. %s\n", prefix, k, t.errors[k], oneLine(t.firstBody[k]))
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// counts renders a map as k=v pairs in key order.
func counts[V int | int64](m map[string]V) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// connSampler samples the run's database twice a second: the most
// connections it had at once (3 instances may hold 50 each, and the
// machine's shared server allows 100 in all), and what its backends were
// doing, which tells waiting on locks, on the WAL or on the service apart.
type connSampler struct {
	stop    func()
	mu      sync.Mutex
	peak    int64
	samples int
	waits   map[string]int64 // "state wait_event_type:wait_event" → backends seen so
}

func sampleConnections(ctx context.Context, db *gorm.DB) *connSampler {
	s := &connSampler{waits: map[string]int64{}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		for {
			var rows []struct {
				What string
				N    int64
			}
			qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
			err := db.WithContext(qctx).Raw(`SELECT coalesce(state, '?') || ' ' || coalesce(wait_event_type || ':' || wait_event, 'running') AS what,
				count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`).Scan(&rows).Error
			qcancel()
			if err == nil {
				s.mu.Lock()
				var total int64
				for _, r := range rows {
					s.waits[r.What] += r.N
					total += r.N
				}
				s.peak = max(s.peak, total+1) // +1: the sampler's own connection
				s.samples++
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return s
}

// result stops the sampler and returns the peak connections and the
// average number of backends in each state, busiest first.
func (s *connSampler) result() (int64, string) {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(s.waits), func(a, b string) int { return int(s.waits[b] - s.waits[a]) })
	var b strings.Builder
	for _, k := range keys[:min(len(keys), 8)] {
		fmt.Fprintf(&b, " [%s]=%.1f", k, float64(s.waits[k])/float64(max(1, s.samples)))
	}
	return s.peak, strings.TrimSpace(b.String())
}

// machineCPU reads the machine's busy and total CPU time from /proc/stat,
// in clock ticks: busy over total is how loaded the two cores were, by
// the run and by whatever else the machine was doing.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
