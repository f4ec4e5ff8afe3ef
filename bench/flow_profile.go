package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// cpuProfile takes a CPU profile of the instance serving pprof on addr
// (REALNAME_PPROF_ADDR) for the given seconds, after waiting delay, and
// writes it to path. It runs next to the load; the error says why there is
// no profile.
func cpuProfile(ctx context.Context, addr string, delay time.Duration, seconds int, path string) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(delay):
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}

// profileWindow places a profile inside a run of the given length: it
// starts after the first quarter (past the ramp-up) and lasts up to 10 s,
// at most half the run.
func profileWindow(run time.Duration) (time.Duration, int) {
	secs := int(min(10*time.Second, run/2) / time.Second)
	return run / 4, max(1, secs)
}
