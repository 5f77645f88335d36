package raft

import "testing"

// Thesis §10.2.1: a leader may commit an entry on a quorum of followers
// before its own disk write of it completes. With
// Config.ApplyBeforeLocalDurable it also hands the entry out for applying
// then; without it, CommittedEntries waits for the leader's Persisted.
// Followers never apply entries that are not durable locally.
func TestApplyBeforeLocalDurable(t *testing.T) {
	for _, tc := range []struct {
		name        string
		on          bool
		wantApplied bool
	}{
		{"off: leader waits for its own write", false, false},
		{"on: leader applies on the followers' quorum", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, nodeIDs(3), func(id NodeID) Config {
				cfg := testConfig(id, 1)
				cfg.ApplyBeforeLocalDurable = tc.on
				return cfg
			})
			lead := c.nodes["n1"]
			if err := lead.node.Campaign(); err != nil {
				t.Fatal(err)
			}
			c.stabilize()
			idx, _, err := lead.node.Propose([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			// The leader's write of idx stays on its disk queue; the
			// followers persist and acknowledge.
			c.takeReady(lead)
			for range 3 {
				for _, id := range []NodeID{"n2", "n3"} {
					for c.takeReady(c.nodes[id]) {
					}
					for c.persistOne(c.nodes[id]) {
					}
				}
				msgs := c.net
				c.net = nil
				for _, m := range msgs {
					c.deliver(m)
				}
			}
			if lead.node.log.committed < idx || lead.node.log.durableLast() >= idx {
				t.Fatalf("setup: committed %d, durable %d, want %d committed and not durable",
					lead.node.log.committed, lead.node.log.durableLast(), idx)
			}
			applied := false
			for lead.node.HasReady() {
				for _, e := range lead.node.Ready().CommittedEntries {
					applied = applied || e.Index == idx
				}
			}
			if applied != tc.wantApplied {
				t.Fatalf("entry %d handed out for applying before the leader's write: %v, want %v", idx, applied, tc.wantApplied)
			}
			for _, id := range []NodeID{"n2", "n3"} {
				f := c.nodes[id].node
				if f.log.applying > f.log.durableLast() {
					t.Fatalf("follower %s hands out %d, durable only to %d", id, f.log.applying, f.log.durableLast())
				}
			}
			// Stepping down ends the mode: nothing further is applied
			// ahead of the disk.
			lead.node.becomeFollower(lead.node.term+1, None)
			if lead.node.log.applyUnstable {
				t.Fatal("a follower still applies entries that are not durable")
			}
		})
	}
}
