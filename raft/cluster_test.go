package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// testNode is one server of an in-process test cluster: a Node over a
// MemoryStorage, a "disk" queue of Readys awaiting persistence and a state
// machine that records what it applied.
type testNode struct {
	id      NodeID
	node    *Node
	storage *MemoryStorage
	// disk holds Readys whose disk work is not yet done (async persistence).
	disk []Ready
	// applied[i] is the entry applied at index i+1 (snapshot restores fill
	// the covered prefix with zero entries).
	applied []Entry
	down    bool
}

// testCluster delivers messages between nodes in one goroutine.
type testCluster struct {
	tb    testing.TB
	nodes map[NodeID]*testNode
	ids   []NodeID
	// net holds messages in flight, in send order.
	net []Message
	// cut[a][b]: messages from a to b are dropped.
	cut map[NodeID]map[NodeID]bool
	cfg func(id NodeID) Config
}

func testConfig(id NodeID, seed uint64) Config {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	c := DefaultConfig(id, rand.New(rand.NewPCG(seed, h)))
	c.ElectionTicks = 10
	c.HeartbeatTicks = 1
	c.AutoPromote = false
	return c
}

func nodeIDs(n int) []NodeID {
	ids := make([]NodeID, n)
	for i := range ids {
		ids[i] = NodeID(fmt.Sprintf("n%d", i+1))
	}
	return ids
}

// newTestCluster bootstraps voters ids.
func newTestCluster(tb testing.TB, ids []NodeID, cfg func(id NodeID) Config) *testCluster {
	c := &testCluster{tb: tb, nodes: map[NodeID]*testNode{}, cut: map[NodeID]map[NodeID]bool{}, cfg: cfg}
	var conf Configuration
	for _, id := range ids {
		conf.Servers = append(conf.Servers, Server{ID: id, Address: string(id), Suffrage: Voter})
	}
	for _, id := range ids {
		st := NewMemoryStorage()
		hs, ents := BootstrapEntries(conf)
		if err := st.Append(hs, ents); err != nil {
			tb.Fatal(err)
		}
		c.addNode(id, st)
	}
	return c
}

func (c *testCluster) addNode(id NodeID, st *MemoryStorage) *testNode {
	n, err := NewNode(c.cfg(id), st)
	if err != nil {
		c.tb.Fatal(err)
	}
	tn := &testNode{id: id, node: n, storage: st}
	// Entries applied before a restart are reapplied from the snapshot on.
	snap := st.Snapshot()
	tn.applied = make([]Entry, snap.Index)
	c.nodes[id] = tn
	if !slices.Contains(c.ids, id) {
		c.ids = append(c.ids, id)
		slices.Sort(c.ids)
	}
	return tn
}

// takeReady moves one Ready from the node into its disk queue, sending its
// Messages at once (Ready step 1).
func (c *testCluster) takeReady(tn *testNode) bool {
	if tn.down || !tn.node.HasReady() {
		return false
	}
	rd := tn.node.Ready()
	c.net = append(c.net, rd.Messages...)
	rd.Messages = nil
	tn.disk = append(tn.disk, rd)
	return true
}

// persistOne completes the oldest pending Ready (steps 2-5).
func (c *testCluster) persistOne(tn *testNode) bool {
	if tn.down || len(tn.disk) == 0 {
		return false
	}
	rd := tn.disk[0]
	tn.disk = tn.disk[1:]
	if rd.Snapshot != nil {
		if err := tn.storage.ApplySnapshot(*rd.Snapshot); err != nil {
			c.tb.Fatalf("%s: apply snapshot: %v", tn.id, err)
		}
		c.restoreSnapshot(tn, *rd.Snapshot)
	}
	if err := tn.storage.Append(rd.HardState, rd.Entries); err != nil {
		c.tb.Fatalf("%s: append: %v", tn.id, err)
	}
	c.net = append(c.net, rd.MessagesAfterPersist...)
	tn.node.Persisted(rd.Persist)
	c.apply(tn, rd.CommittedEntries)
	return true
}

// restoreSnapshot installs a snapshot into the test state machine: the
// entries it covers are copied from a node that applied them (the test's
// stand-in for the snapshot bytes).
func (c *testCluster) restoreSnapshot(tn *testNode, meta SnapshotMeta) {
	for _, id := range c.ids {
		src := c.nodes[id]
		if Index(len(src.applied)) >= meta.Index && src != tn {
			tn.applied = append(tn.applied[:0], src.applied[:meta.Index]...)
			return
		}
	}
	tn.applied = make([]Entry, meta.Index)
}

func (c *testCluster) apply(tn *testNode, ents []Entry) {
	for _, e := range ents {
		if e.Index != Index(len(tn.applied))+1 {
			c.tb.Fatalf("%s: applying %d after %d", tn.id, e.Index, len(tn.applied))
		}
		tn.applied = append(tn.applied, e)
	}
	if len(ents) > 0 {
		tn.node.Applied(ents[len(ents)-1].Index)
	}
}

// deliver hands one message to its target; it reports false if dropped.
func (c *testCluster) deliver(m Message) {
	to := c.nodes[m.To]
	if to == nil || to.down || c.cut[m.From][m.To] {
		return
	}
	if err := to.node.Step(m); err != nil {
		c.tb.Fatalf("step %s %s->%s: %v", m.Type, m.From, m.To, err)
	}
}

// stabilize runs Ready/persist/deliver until nothing moves.
func (c *testCluster) stabilize() {
	for range 100000 {
		moved := false
		for _, id := range c.ids {
			tn := c.nodes[id]
			for c.takeReady(tn) {
				moved = true
			}
			for c.persistOne(tn) {
				moved = true
			}
		}
		if len(c.net) > 0 {
			msgs := c.net
			c.net = nil
			for _, m := range msgs {
				c.deliver(m)
			}
			moved = true
		}
		if !moved {
			return
		}
	}
	c.tb.Fatal("cluster did not stabilize")
}

func (c *testCluster) leader() NodeID {
	var lead NodeID
	var term Term
	for _, id := range c.ids {
		tn := c.nodes[id]
		if !tn.down && tn.node.role == Leader && tn.node.term >= term {
			lead, term = id, tn.node.term
		}
	}
	return lead
}

func (c *testCluster) tickAll(k int) {
	for range k {
		for _, id := range c.ids {
			if !c.nodes[id].down {
				c.nodes[id].node.Tick()
			}
		}
		c.stabilize()
	}
}

func (c *testCluster) isolate(id NodeID) {
	for _, o := range c.ids {
		if o != id {
			c.setCut(id, o, true)
			c.setCut(o, id, true)
		}
	}
}

func (c *testCluster) setCut(a, b NodeID, v bool) {
	if c.cut[a] == nil {
		c.cut[a] = map[NodeID]bool{}
	}
	c.cut[a][b] = v
}

func (c *testCluster) heal() { c.cut = map[NodeID]map[NodeID]bool{} }

func TestClusterSmoke(t *testing.T) {
	for _, size := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newTestCluster(t, nodeIDs(size), func(id NodeID) Config { return testConfig(id, 1) })
			if err := c.nodes["n1"].node.Campaign(); err != nil {
				t.Fatal(err)
			}
			c.stabilize()
			if l := c.leader(); l != "n1" {
				t.Fatalf("leader %q", l)
			}
			for i := range 10 {
				if _, _, err := c.nodes["n1"].node.Propose([]byte(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			c.stabilize()
			for _, id := range c.ids {
				if got := len(c.nodes[id].applied); got != 12 {
					t.Fatalf("%s applied %d entries, want 12", id, got)
				}
			}
		})
	}
}
