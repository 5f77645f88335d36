package jepsen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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

// TestReplayAcrossProcesses replays a seed in two child processes with
// different GOMAXPROCS and compares their traces byte for byte.
func TestReplayAcrossProcesses(t *testing.T) {
	if out := os.Getenv("JEPSEN_TRACE_OUT"); out != "" {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		Run(Options{Seed: 11, Trace: f})
		return
	}
	dir := t.TempDir()
	var traces [2][]byte
	for i, procs := range []string{"1", "2"} {
		path := filepath.Join(dir, "trace"+procs)
		cmd := exec.Command(os.Args[0], "-test.run=^TestReplayAcrossProcesses$")
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs, "JEPSEN_TRACE_OUT="+path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child GOMAXPROCS=%s: %v\n%s", procs, err, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		traces[i] = b
	}
	if len(traces[0]) < 10_000 || !bytes.Equal(traces[0], traces[1]) {
		t.Fatalf("traces differ across GOMAXPROCS (%d vs %d bytes)", len(traces[0]), len(traces[1]))
	}
}

// TestUnawareRemovedMember replays seed 3 in a swarm without PreVote
// and CheckQuorum and with a membership change every second on average:
// a member is removed by an entry it never receives, and its vote
// requests would depose every leader before the removal commits (thesis
// §4.2.3), livelocking the cluster through the liveness phase, until
// such a member is stopped once every other member holds its removal
// (membership.go). The unmodified swarms show it too rarely to pin (once
// in 1000 seeds, lost at any change of schedule). If the schedule
// changes and the seed no longer shows it, pick another seed whose
// summary counts a stop under the same tweak.
func TestUnawareRemovedMember(t *testing.T) {
	const seed = 3
	r := Run(Options{Seed: seed, Tweak: unawareRemovedSwarm})
	if r.Violation != nil {
		t.Fatalf("seed %d: %v", seed, r.Violation)
	}
	if r.Stats.UnawareStopped == 0 {
		t.Fatalf("seed %d no longer stops an unaware removed member: the test needs another seed", seed)
	}
}

// unawareRemovedSwarm: no protection against a removed server's votes,
// and frequent membership changes.
func unawareRemovedSwarm(s *Swarm) {
	s.PreVote, s.CheckQuorum = false, false
	s.MemberEvery = time.Second
}
