package raft

// Safety scenarios, each a scripted cluster run that ends in a Raft
// safety violation if the rule it names is broken (they were written to
// confirm planted bugs the simulator's random schedules seldom reach; the
// plants are kept outside the repository, see jepsen/plants for the ones
// the simulator catches).

import (
	"testing"
)

// Ongaro's single-server change bug (raft-dev, 2015): a new leader that
// changes the configuration before committing an entry of its term.
func TestConfChangeWaitsForOwnTermCommit(t *testing.T) {
	cfg := func(id NodeID) Config {
		c := testConfig(id, 1)
		c.PreVote, c.CheckQuorum = false, false
		return c
	}
	c := newTestCluster(t, nodeIDs(4), cfg)
	c.addNode("n5", NewMemoryStorage())
	n1, n2 := c.nodes["n1"].node, c.nodes["n2"].node
	if err := n1.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	if _, _, err := n1.ProposeConfChange(ConfChange{Type: ConfAddNonvoter, Server: Server{ID: "n5", Address: "n5"}}); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	// C1 (n5 promoted) reaches n5 only.
	for _, o := range []NodeID{"n2", "n3", "n4"} {
		c.setCut("n1", o, true)
		c.setCut(o, "n1", true)
	}
	if _, _, err := n1.ProposeConfChange(ConfChange{Type: ConfPromote, Server: Server{ID: "n5"}}); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	// n2 wins with n3, n4 under C0; its entries reach n3 only.
	if err := n2.Campaign(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if n2.role == Leader {
			break
		}
		for _, id := range []NodeID{"n2", "n3", "n4"} {
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
	if n2.role != Leader {
		t.Fatalf("n2 is %v", n2.role)
	}
	c.net = nil
	for _, p := range [][2]NodeID{{"n2", "n4"}, {"n2", "n5"}, {"n3", "n5"}} {
		c.setCut(p[0], p[1], true)
		c.setCut(p[1], p[0], true)
	}
	ci, _, err := n2.ProposeConfChange(ConfChange{Type: ConfRemove, Server: Server{ID: "n4"}})
	t.Logf("n2 proposes removing n4: index %d, %v", ci, err)
	c.stabilize()
	if err != nil || n2.log.committed < ci {
		return // correct code: ErrNotReady, nothing committed without n4
	}
	// n1 wins with n4, n5 under C1.
	c.setCut("n1", "n4", false)
	c.setCut("n4", "n1", false)
	c.tickAll(3) // n1's heartbeats meet n4's newer term: n1 steps down
	if err := n1.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	t.Logf("n1 %v term %d last %d; n2 %v term %d commit %d; n4 term %d last %d", n1.role, n1.term, n1.log.lastIndex(), n2.role, n2.term, n2.log.committed, c.nodes["n4"].node.term, c.nodes["n4"].node.log.lastIndex())
	t.Logf("n1 votes %v voters %v; n5 term %d vote %q voters %v last %d", n1.votes, n1.conf.voters, c.nodes["n5"].node.term, c.nodes["n5"].node.vote, c.nodes["n5"].node.conf.voters, c.nodes["n5"].node.log.lastIndex())
	t1, _ := n1.log.term(ci)
	t2, _ := n2.log.term(ci)
	if n1.role == Leader && t1 != t2 {
		t.Fatalf("n2 committed its configuration at %d (term %d) with n3; n1 now leads term %d holding term %d there",
			ci, t2, n1.term, t1)
	}
}

// Two single-server changes in flight: C0={n1,n2,n3}, C2 adds n4 and n5
// as voters. n1 commits under C2 with {n1,n4,n5}; n2,n3 still on C0
// elect n2 and commit at the same index.
func TestOneConfChangeInFlight(t *testing.T) {
	c, l := splitWithNonvoters(t)
	_, _, err1 := l.ProposeConfChange(ConfChange{Type: ConfPromote, Server: Server{ID: "n4"}})
	_, _, err2 := l.ProposeConfChange(ConfChange{Type: ConfPromote, Server: Server{ID: "n5"}})
	t.Logf("promote n4: %v, promote n5: %v", err1, err2)
	c.stabilize()
	ia, _, _ := l.Propose([]byte("A"))
	c.stabilize()
	// n2 campaigns on the other side.
	for i := 0; i < 100 && c.nodes["n2"].node.role != Leader; i++ {
		c.nodes["n2"].node.Tick()
		c.nodes["n3"].node.Tick()
		c.stabilize()
	}
	if c.nodes["n2"].node.role != Leader {
		t.Logf("n2 did not become leader (%v)", c.nodes["n2"].node.role)
		return
	}
	c.nodes["n2"].node.Propose([]byte("B"))
	c.stabilize()
	a, b := c.nodes["n1"], c.nodes["n2"]
	for i := range min(len(a.applied), len(b.applied)) {
		if a.applied[i].Term != b.applied[i].Term || string(a.applied[i].Data) != string(b.applied[i].Data) {
			t.Fatalf("state machine safety: index %d applied as %q/%d on n1 and %q/%d on n2 (n1 leader %v, A at %d)",
				i+1, a.applied[i].Data, a.applied[i].Term, b.applied[i].Data, b.applied[i].Term, l.role, ia)
		}
	}
	t.Logf("no divergence: n1 applied %d, n2 applied %d", len(a.applied), len(b.applied))
}

// Non-voters counted for commit: n1 commits with {n1, n4, n5}, n4 and n5
// non-voters; n2, n3 (a voter majority) elect n2 without the entry.
func TestNonvotersNotCountedForCommit(t *testing.T) {
	c, l := splitWithNonvoters(t)
	ia, _, _ := l.Propose([]byte("A"))
	c.stabilize()
	// n2 campaigns on the other side.
	for i := 0; i < 100 && c.nodes["n2"].node.role != Leader; i++ {
		c.nodes["n2"].node.Tick()
		c.nodes["n3"].node.Tick()
		c.stabilize()
	}
	if c.nodes["n2"].node.role != Leader {
		t.Logf("n2 did not become leader (%v)", c.nodes["n2"].node.role)
		return
	}
	// Leader Completeness: n2 must hold what n1 committed.
	at, _ := l.log.term(ia)
	bt, _ := c.nodes["n2"].node.log.term(ia)
	if l.log.committed >= ia && at != bt {
		t.Fatalf("n1 committed A at %d/%d (voter n1 only, plus non-voters n4, n5); new leader n2 holds term %d there",
			ia, at, bt)
	}
	c.nodes["n2"].node.Propose([]byte("B"))
	c.stabilize()
	a, b := c.nodes["n1"], c.nodes["n2"]
	for i := range min(len(a.applied), len(b.applied)) {
		if a.applied[i].Term != b.applied[i].Term || string(a.applied[i].Data) != string(b.applied[i].Data) {
			t.Fatalf("state machine safety: index %d applied as %q/%d on n1 and %q/%d on n2 (n1 leader %v, A at %d)",
				i+1, a.applied[i].Data, a.applied[i].Term, b.applied[i].Data, b.applied[i].Term, l.role, ia)
		}
	}
	t.Logf("no divergence: n1 applied %d, n2 applied %d", len(a.applied), len(b.applied))
}

// A ReadIndex request that arrives while a round is in flight must not be
// answered by that round's acks: they may predate a new leader's write.
func TestReadIndexRoundNotJoinedLate(t *testing.T) {
	cfg := func(id NodeID) Config {
		c := testConfig(id, 1)
		c.PreVote, c.CheckQuorum = false, false
		return c
	}
	c := newTestCluster(t, nodeIDs(3), cfg)
	n1 := c.nodes["n1"]
	if err := n1.node.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	// Round 1 starts: heartbeats reach n2, n3; their acks are held.
	if err := n1.node.ReadIndex([]byte("r1")); err != nil {
		t.Fatal(err)
	}
	var states []ReadState
	drain := func() {
		for n1.node.HasReady() {
			rd := n1.node.Ready()
			states = append(states, rd.ReadStates...)
			c.net = append(c.net, rd.Messages...)
			rd.Messages = nil
			n1.disk = append(n1.disk, rd)
			for c.persistOne(n1) {
			}
		}
	}
	drain()
	hbs := c.net
	c.net = nil
	for _, m := range hbs {
		c.deliver(m)
	}
	for _, id := range []NodeID{"n2", "n3"} {
		for c.takeReady(c.nodes[id]) {
		}
		for c.persistOne(c.nodes[id]) {
		}
	}
	held := c.net
	c.net = nil
	// n1 is cut off; n2 becomes leader and commits a write.
	c.isolate("n1")
	if err := c.nodes["n2"].node.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	wi, _, err := c.nodes["n2"].node.Propose([]byte("W"))
	if err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	if c.nodes["n2"].node.log.committed < wi {
		t.Fatalf("W at %d not committed", wi)
	}
	// The client, having seen W acknowledged, reads at n1.
	if err := n1.node.ReadIndex([]byte("r2")); err != nil {
		t.Fatal(err)
	}
	drain()
	c.net = nil // n1's new heartbeats are lost (partition)
	c.heal()
	for _, m := range held {
		if m.To == "n1" {
			c.deliver(m)
		}
	}
	drain()
	for _, s := range states {
		if string(s.Context) == "r2" && s.Index < wi {
			t.Fatalf("stale read: r2 answered at index %d, below the committed write at %d", s.Index, wi)
		}
	}
	t.Logf("read states: %+v", states)
}

// The leader may count itself only for entries durable on its own disk.
func TestLeaderCommitsOnlyDurableSelf(t *testing.T) {
	cfg := func(id NodeID) Config {
		c := testConfig(id, 1)
		c.PreVote, c.CheckQuorum = false, false
		return c
	}
	c := newTestCluster(t, nodeIDs(3), cfg)
	l := c.nodes["n1"]
	if err := l.node.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	ia, _, _ := l.node.Propose([]byte("A"))
	c.stabilize()
	// G (n3) is cut off; B reaches F (n2) only; the leader's write of B
	// is slow.
	c.isolate("n3")
	c.takeReady(l) // Ready with A's commit? flush anything pending
	for c.persistOne(l) {
	}
	ib, _, _ := l.node.Propose([]byte("B"))
	c.takeReady(l) // Ready carrying B: sent to n2 at once, disk write pending
	ic, _, _ := l.node.Propose([]byte("C"))
	_ = ic
	for range 20 {
		msgs := c.net
		c.net = nil
		for _, m := range msgs {
			c.deliver(m)
		}
		for _, id := range []NodeID{"n2"} {
			for c.takeReady(c.nodes[id]) {
			}
			for c.persistOne(c.nodes[id]) {
			}
		}
		// The leader takes Readys but completes only its first write (B),
		// leaving C unsynced... here we complete none of B's.
		for l.node.HasReady() {
			c.takeReady(l)
		}
	}
	// Complete only an empty/earlier persist if any: complete the oldest
	// pending write (B's Ready) and see whether C commits.
	if len(l.disk) > 0 {
		c.persistOne(l)
	}
	for range 20 {
		msgs := c.net
		c.net = nil
		for _, m := range msgs {
			c.deliver(m)
		}
		for c.takeReady(c.nodes["n2"]) {
		}
		for c.persistOne(c.nodes["n2"]) {
		}
		for l.node.HasReady() {
			c.takeReady(l)
		}
	}
	lastDurable := l.storage.LastIndex()
	t.Logf("A=%d B=%d C=%d leader commit %d, leader durable last %d", ia, ib, ic, l.node.log.committed, lastDurable)
	if l.node.log.committed > lastDurable {
		// Crash the leader now: its pending writes are lost.
		l.disk = nil
		l.down = true
		c.net = nil
		c.heal()
		c.isolate("n2")
		nl := c.addNode("n1", l.storage)
		_ = nl
		committed := l.node.log.committed
		if err := c.nodes["n1"].node.Campaign(); err != nil {
			t.Fatal(err)
		}
		c.stabilize()
		c.nodes["n1"].node.Propose([]byte("X"))
		c.stabilize()
		g := c.nodes["n3"]
		if Index(len(g.applied)) >= committed {
			e := g.applied[committed-1]
			t.Fatalf("entry %d was committed as C by the old leader (with n2), n3 applied %q term %d there", committed, e.Data, e.Term)
		}
		if g.node.role == Leader && Index(len(g.applied)) >= l.node.log.committed {
			e := g.applied[l.node.log.committed-1]
			t.Fatalf("committed entry %d lost: now %q term %d after the leader's crash", l.node.log.committed, e.Data, e.Term)
		}
		t.Fatalf("leader committed %d beyond its durable %d", l.node.log.committed, lastDurable)
	}
}

// splitWithNonvoters: voters n1 (leader), n2, n3 and non-voters n4, n5,
// then n1, n4, n5 cut from n2, n3 (both ways). It returns the cluster and
// n1.
func splitWithNonvoters(t *testing.T) (*testCluster, *Node) {
	t.Helper()
	c := newTestCluster(t, nodeIDs(3), func(id NodeID) Config { return testConfig(id, 1) })
	c.addNode("n4", NewMemoryStorage())
	c.addNode("n5", NewMemoryStorage())
	if err := c.nodes["n1"].node.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	l := c.nodes["n1"].node
	for _, id := range []NodeID{"n4", "n5"} {
		if _, _, err := l.ProposeConfChange(ConfChange{Type: ConfAddNonvoter, Server: Server{ID: id, Address: string(id)}}); err != nil {
			t.Fatal(err)
		}
		c.stabilize()
	}
	// Cut n1,n4,n5 from n2,n3.
	for _, a := range []NodeID{"n1", "n4", "n5"} {
		for _, b := range []NodeID{"n2", "n3"} {
			c.setCut(a, b, true)
			c.setCut(b, a, true)
		}
	}
	return c, l
}
