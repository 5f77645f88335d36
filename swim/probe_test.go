package swim

import (
	"testing"
	"time"
)

// TestProbeRoundVisitsEveryMemberOnce: each round of nextProbeTarget
// visits every other live member exactly once (SWIM §4.3 round-robin over
// a shuffled list), and a member added mid-round is probed before that
// round ends.
func TestProbeRoundVisitsEveryMemberOnce(t *testing.T) {
	c := newCluster(t, 6, 5, nil)
	c.joinAll()
	n := c.nodes[0].n
	n.probeIdx = len(n.probeOrder) // start a fresh round
	for round := range 4 {
		seen := map[string]int{}
		for range 5 {
			seen[n.nextProbeTarget().name]++
		}
		if len(seen) != 5 {
			t.Fatalf("round %d visited %v, want each of 5 members once", round, seen)
		}
	}
	// Mid-round join: 2 of 5 visited, then a newcomer.
	n.nextProbeTarget()
	n.nextProbeTarget()
	n.handleAlive(&alive{Inc: 0, Node: "new", Addr: "new:7946"})
	found := false
	for range 4 { // the 3 left of the round, and the newcomer
		if n.nextProbeTarget().name == "new" {
			found = true
		}
	}
	if !found || n.probeIdx != len(n.probeOrder) {
		t.Errorf("a member added mid-round was not probed in that round (found %v, at %d of %d)", found, n.probeIdx, len(n.probeOrder))
	}
}

// TestIndirectProbeAcrossCutLink: n0 and n1 cannot talk at all
// (datagrams and streams), every other link works: n0's probes of n1
// succeed through ping-req relays (SWIM §3.1), so n0 never suspects n1.
func TestIndirectProbeAcrossCutLink(t *testing.T) {
	c := newCluster(t, 5, 31, func(cfg *Config) { cfg.EmitSuspectEvents = true })
	c.joinAll()
	a, b := c.nodes[0], c.nodes[1]
	c.cut = func(from, to *tnode) bool { return (from == a && to == b) || (from == b && to == a) }
	c.run(2 * time.Minute)
	if n := countEvents(a, EventSuspect, b.name); n != 0 {
		t.Errorf("%s suspected %s %d times across a cut link the relays bridge", a.name, b.name, n)
	}
}
