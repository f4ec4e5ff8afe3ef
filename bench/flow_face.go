package main

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Face modes of `bench flow -face`, the service's REALNAME_FACE values.
const (
	faceOff      = "off"
	faceRequired = "required"
	faceFallback = "fallback"
)

// faceOutcome is one thing the user's phone can do with a verify_id,
// played through the sandbox's control POST /_sandbox/wechat/face.
type faceOutcome struct {
	name string
	ret  int // the verify_ret the phone reports
}

// faceOutcomes are the outcomes -face-mix may name. "pass" is a holder
// showing their own face; what WeChat then answers depends on the card
// (see faceFlow.retFor).
func faceOutcomes() []faceOutcome {
	return []faceOutcome{
		{"pass", 10000},
		{"cancel", 90002},   // the user closed the sheet: one retry with a new verify_id
		{"other", 10004},    // another person's face
		{"mismatch", 10003}, // name and number do not belong together at the authority
		{"norecord", 10026}, // the authority has no photo for the number
	}
}

// faceMix is the share of each outcome, in faceOutcomes order, summing to 1.
type faceMix []struct {
	faceOutcome
	share float64
}

// defaultFaceMix is what -face-mix defaults to: most people pass, a few
// cancel, a few are someone else holding the card.
const defaultFaceMix = "pass=0.9,cancel=0.05,other=0.05"

// parseFaceMix reads "pass=0.9,cancel=0.05,other=0.05". Shares must be
// non-negative and sum to 1 (within rounding), so a typo is not silently
// renormalised into another mix than the one the figures are quoted for.
func parseFaceMix(s string) (faceMix, error) {
	known := faceOutcomes()
	shares := map[string]float64{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("-face-mix: %q is not outcome=share", part)
		}
		if !slices.ContainsFunc(known, func(o faceOutcome) bool { return o.name == k }) {
			return nil, fmt.Errorf("-face-mix: unknown outcome %q (pass, cancel, other, mismatch, norecord)", k)
		}
		if _, dup := shares[k]; dup {
			return nil, fmt.Errorf("-face-mix: %q given twice", k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("-face-mix: share of %q must be between 0 and 1, got %q", k, v)
		}
		shares[k] = f
	}
	var mix faceMix
	sum := 0.0
	for _, o := range known {
		if f := shares[o.name]; f > 0 {
			mix = append(mix, struct {
				faceOutcome
				share float64
			}{o, f})
			sum += f
		}
	}
	if sum < 0.999 || sum > 1.001 {
		return nil, fmt.Errorf("-face-mix: shares sum to %.3f, want 1", sum)
	}
	return mix, nil
}

// draw picks an outcome for u in [0, 1).
func (m faceMix) draw(u float64) faceOutcome {
	for _, e := range m {
		if u < e.share {
			return e.faceOutcome
		}
		u -= e.share
	}
	return m[len(m)-1].faceOutcome // rounding: u past the last share
}

// String is the mix as -face-mix takes it.
func (m faceMix) String() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = fmt.Sprintf("%s=%g", e.name, e.share)
	}
	return strings.Join(parts, ",")
}

// faceFlow is how simulated users go through the face step.
type faceFlow struct {
	mode    string // faceOff, faceRequired or faceFallback
	mix     faceMix
	sandbox string // base URL of the fakes, for the phone's control call
	// byCard leaves "pass" to the WeChat fake's by-card mode, which
	// answers as the name/ID check fakes do (the no-record card gets
	// 10026): an authority with the same gaps as the check vendors.
	// Without it a holder's pass is 10000 for every card but the mismatch
	// one: the check vendor's missing record is its own gap, which the
	// face check against the authority's photo closes (the case).
	byCard bool
	seed   uint64 // from the run id, so two runs draw differently
}

// on reports whether users take the face step at all.
func (f faceFlow) on() bool { return f.mode == faceRequired || f.mode == faceFallback }

// rng is flow n's own source of draws: deterministic per run and flow,
// and no generator shared between users.
func (f faceFlow) rng(n int64) *rand.Rand {
	return rand.New(rand.NewPCG(f.seed, uint64(n)))
}

// retFor is the verify_ret the phone reports for outcome o on a card
// whose name/ID check fake says check; 0 leaves the answer to the fake
// (by-card mode).
func (f faceFlow) retFor(o faceOutcome, check string) int {
	if o.name != "pass" {
		return o.ret
	}
	switch {
	case f.byCard:
		return 0
	case check == "mismatch":
		return 10003 // the holder's face cannot make a wrong name right
	}
	return o.ret
}

// seedOf turns a run id into a seed.
func seedOf(runID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(runID))
	return h.Sum64()
}

// parseFaceFlags checks -face and -face-mix together.
func parseFaceFlags(mode, mix string, byCard bool) (faceFlow, error) {
	f := faceFlow{mode: mode, byCard: byCard}
	switch mode {
	case faceOff:
		return f, nil
	case faceRequired, faceFallback:
	default:
		return f, errors.New("-face must be off, required or fallback")
	}
	var err error
	f.mix, err = parseFaceMix(mix)
	return f, err
}
