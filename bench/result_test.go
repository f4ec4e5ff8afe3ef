package main

import (
	"context"
	"io"
	"testing"
)

func TestResultPassed(t *testing.T) {
	cases := []struct {
		name                      string
		windows, requests, issued int
		failures, errors          int64
		want                      bool
	}{
		{"one request per window", 4, 4, 4, 0, 0, true},
		{"nothing ran", 0, 0, 0, 0, 0, false},
		{"an invalid token", 4, 4, 4, 1, 0, false},
		{"a get failed", 4, 4, 4, 0, 1, false},
		{"a request that opened no window", 4, 5, 4, 0, 0, false},
		{"two instances fetched one window", 4, 5, 5, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := result{windows: c.windows, requests: c.requests, issued: c.issued,
				tally: &tally{failures: c.failures, errors: c.errors}}
			if got := r.passed(); got != c.want {
				t.Fatalf("passed() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"-h"}, 0},
		{[]string{"nope"}, 2},
		{[]string{"token", "-h"}, 0},
		{[]string{"token", "-mode", "nope"}, 2},
		{[]string{"token", "-ttl", "1500ms"}, 2},
	}
	for _, c := range cases {
		if got := run(context.Background(), c.args, io.Discard, io.Discard); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}
