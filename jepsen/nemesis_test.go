package jepsen

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// TestLeaderTransfer replays seed 3 and requires that some of the
// nemesis's leadership transfers take effect: the next leader elected
// after a transfer request is its target (transfer.go). A transfer that
// the simulator asks for but never completes tests nothing.
func TestLeaderTransfer(t *testing.T) {
	var trace bytes.Buffer
	r := Run(Options{Seed: 3, Trace: &trace})
	if r.Violation != nil {
		t.Fatalf("seed 3: %v", r.Violation)
	}
	asked, done := 0, 0
	target := ""
	sc := bufio.NewScanner(&trace)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 6 && f[1] == "nemesis" && f[2] == "leader-transfer":
			asked++
			target = f[5]
		case len(f) >= 4 && f[2] == "role" && f[3] == "Leader":
			if target != "" && f[1] == target {
				done++
			}
			target = ""
		}
	}
	if asked != r.Stats.Faults[FaultLeaderTransfer] {
		t.Fatalf("trace shows %d transfers, stats count %d", asked, r.Stats.Faults[FaultLeaderTransfer])
	}
	if done < 3 {
		t.Fatalf("only %d of %d transfers elected their target", done, asked)
	}
}

// TestConfChangeWhilePending replays seed 3, where the membership nemesis
// proposes a change while its previous one is uncommitted: the core
// refuses it (one change at a time, §4.1) and the run goes on.
func TestConfChangeWhilePending(t *testing.T) {
	var trace bytes.Buffer
	r := Run(Options{Seed: 3, Trace: &trace})
	if r.Violation != nil {
		t.Fatalf("seed 3: %v", r.Violation)
	}
	if r.Stats.ConfRefused == 0 || !strings.Contains(trace.String(), "while one is pending: refused") {
		t.Fatalf("seed 3 no longer proposes a change while one is pending (refused %d): pick another seed", r.Stats.ConfRefused)
	}
}
