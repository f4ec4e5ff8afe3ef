package main

import (
	"fmt"
	"io"
	"time"
)

// result is one scenario's outcome, in the terms the summary line uses.
type result struct {
	name      string // line prefix: sdk, sdk-scaled, token
	setup     string // how the instances cache, for the reader
	mode      string
	instances int
	callers   int // all instances together
	// windows is the number of distinct tokens handed out: each is one
	// window during which every instance should use the same token.
	windows int
	// requests is the HTTP requests to WeChat's token endpoint, the quota
	// that is actually spent; issued is how many of them produced a new
	// token.
	requests, issued int
	*tally
}

func newResult(name, setup string, cfg tokenConfig, t *tally, requests, issued int) result {
	return result{
		name: name, setup: setup, mode: cfg.mode,
		instances: cfg.instances, callers: cfg.instances * cfg.callers,
		windows: len(t.tokens), requests: requests, issued: issued, tally: t,
	}
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "%s: instances=%d callers=%d windows=%d upstream_calls=%d issued=%d failures=%d errors=%d gets=%d slow_gets=%d max_get=%v mode=%s %s\n",
		r.name, r.instances, r.callers, r.windows, r.requests, r.issued, r.failures, r.errors, r.gets, r.slow, r.maxGet.Round(time.Microsecond), r.mode, r.setup)
	if r.firstErr != nil {
		fmt.Fprintf(w, "%s: first error: %v\n", r.name, r.firstErr)
	}
}

// passed is the property the token service promises: every token it
// hands out works, and WeChat is asked once per window, by one instance,
// and that request produces the window's token.
func (r result) passed() bool {
	return r.failures == 0 && r.errors == 0 && r.windows > 0 && r.requests == r.windows && r.issued == r.windows
}
