package jepsen

import (
	"bytes"
	"testing"
)

// TestSeeds runs a small campaign; every seed must pass.
func TestSeeds(t *testing.T) {
	n := 20
	if testing.Short() {
		n = 5
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		r := Run(Options{Seed: seed})
		if r.Violation != nil {
			t.Errorf("seed %d: %v\n  replay: %s", seed, r.Violation, ReplayCommand(seed))
		}
		if r.Stats.OpsAcked == 0 {
			t.Errorf("seed %d acknowledged no operation", seed)
		}
	}
}

// TestReplayIdentical replays one seed twice and compares the traces byte
// for byte.
func TestReplayIdentical(t *testing.T) {
	var a, b bytes.Buffer
	Run(Options{Seed: 3, Trace: &a})
	Run(Options{Seed: 3, Trace: &b})
	if a.Len() < 10_000 {
		t.Fatalf("trace suspiciously short: %d bytes", a.Len())
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two replays of seed 3 gave different traces (%d vs %d bytes)", a.Len(), b.Len())
	}
}
