package main

import (
	"io"
	"math"
	"testing"
)

func TestParseFaceMix(t *testing.T) {
	good := map[string]string{
		defaultFaceMix:                       "pass=0.9,cancel=0.05,other=0.05",
		"other=0.5, pass=0.5":                "pass=0.5,other=0.5", // in the outcomes' order
		"pass=1":                             "pass=1",
		"pass=0.8,norecord=0.1,mismatch=0.1": "pass=0.8,mismatch=0.1,norecord=0.1",
		"pass=1,cancel=0":                    "pass=1", // a zero share is left out
	}
	for in, want := range good {
		m, err := parseFaceMix(in)
		if err != nil || m.String() != want {
			t.Errorf("parseFaceMix(%q) = %q, %v; want %q", in, m.String(), err, want)
		}
	}
	for _, bad := range []string{"", "pass", "pass=x", "pass=1.5", "pass=-0.1,other=1.1", "smile=1", "pass=0.5,pass=0.5", "pass=0.5,other=0.4", "pass=0.9,cancel=0"} {
		if _, err := parseFaceMix(bad); err == nil {
			t.Errorf("parseFaceMix(%q) accepted", bad)
		}
	}
}

// TestFaceMixDraws checks that the draws follow the shares: the figures
// are quoted for the mix asked for.
func TestFaceMixDraws(t *testing.T) {
	f, err := parseFaceFlags(faceRequired, defaultFaceMix, false)
	if err != nil {
		t.Fatal(err)
	}
	f.seed = seedOf("test")
	got := map[string]int{}
	const n = 20000
	for i := range int64(n) {
		got[f.mix.draw(f.rng(i).Float64()).name]++
	}
	for name, want := range map[string]float64{"pass": 0.9, "cancel": 0.05, "other": 0.05} {
		if share := float64(got[name]) / n; math.Abs(share-want) > 0.01 {
			t.Errorf("%s drawn %.3f of the time, want %.2f", name, share, want)
		}
	}
	if f.mix.draw(0.999999999).name != "other" || f.mix.draw(0).name != "pass" {
		t.Error("the ends of [0, 1) do not land on the first and last outcomes")
	}
}

func TestFaceRetFor(t *testing.T) {
	pass := faceOutcomes()[0]
	f := faceFlow{mode: faceFallback}
	if f.retFor(pass, "no_record") != 10000 || f.retFor(pass, "match") != 10000 || f.retFor(pass, "mismatch") != 10003 {
		t.Error("a holder's pass: 10000, but 10003 where name and number do not belong together")
	}
	f.byCard = true
	if f.retFor(pass, "no_record") != 0 || f.retFor(faceOutcomes()[1], "match") != 90002 {
		t.Error("by card: a pass is left to the fake, a cancel still played")
	}
}

// TestFaceTally checks the before/after review counts a fallback run prints.
func TestFaceTally(t *testing.T) {
	total := newFlowTally()
	one := newFlowTally()
	one.face.record(answer{State: "face_pending", Reason: "no_record"}, answer{State: "verified"}, 10000)
	one.face.record(answer{State: "face_pending", Reason: "no_record"}, answer{State: "review", Reason: "no_record"}, 10026)
	one.face.record(answer{State: "review", Reason: "minor"}, answer{State: "review", Reason: "minor"}, 0)
	one.face.record(answer{State: "face_pending"}, answer{State: "rejected", Reason: "face_mismatch"}, 10004)
	one.face.record(answer{State: "face_pending", Reason: "source_unavailable"}, answer{State: "review", Reason: "id_already_bound"}, 10000)
	total.add(one)
	f := total.face
	if f.before["no_record"] != 2 || f.before["minor"] != 1 || f.before["source_unavailable"] != 1 || len(f.before) != 3 {
		t.Errorf("before: %v", f.before)
	}
	if f.after["no_record"] != 1 || f.after["minor"] != 1 || f.after["id_already_bound"] != 1 {
		t.Errorf("after: %v", f.after)
	}
	if f.ends["no_record:verified"] != 1 || f.ends["required:rejected"] != 1 || f.passedToStaff["id_already_bound"] != 1 || len(f.passedToStaff) != 1 {
		t.Errorf("ends %v, passed then staff %v", f.ends, f.passedToStaff)
	}
}

func TestFlowFaceFlags(t *testing.T) {
	for _, args := range [][]string{{"-face", "sometimes"}, {"-face", "required", "-face-mix", "pass=0.5"}, {"-check-fault", "fire"}} {
		if _, err := parseFlowFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	c, err := parseFlowFlags([]string{"-face", "fallback", "-check-fault", "error"}, io.Discard)
	if err != nil || c.face.mode != faceFallback || c.face.mix.String() != defaultFaceMix || c.checkFault != "error" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, _ := parseFlowFlags(nil, io.Discard); c.face.on() {
		t.Error("the face step is on by default")
	}
}
