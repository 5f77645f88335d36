package raft

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// TestRandomizedCluster runs seeded chaos against in-process clusters:
// message drop, reorder and duplication, partitions, crashes that lose
// unpersisted Readys, slow disks (several Readys outstanding) and log
// compaction with snapshot transfer. It checks Election Safety, Log
// Matching, Leader Completeness and State Machine Safety (Figure 3) after
// every step, then heals the cluster and requires progress.
func TestRandomizedCluster(t *testing.T) {
	seeds := 150
	steps := 5000
	if testing.Short() {
		seeds, steps = 10, 1500
	}
	for _, size := range []int{3, 5} {
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprintf("n%d/seed%d", size, seed), func(t *testing.T) {
				runChaos(t, size, seed, steps)
			})
		}
	}
}

type chaos struct {
	*testCluster
	rng      *rand.Rand
	leaders  map[Term]NodeID // Election Safety
	appliedA map[Index]Entry // first entry seen applied at each index
	// seenTerm[i] is the highest term any node had when index i was first
	// seen applied: the entry was committed in that term or earlier, so
	// every leader of a later term must hold it (Leader Completeness).
	seenTerm map[Index]Term
	proposed int
	noFaults bool
}

func runChaos(t *testing.T, size int, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	preVote, checkQuorum := rng.IntN(4) != 0, rng.IntN(4) != 0
	cfgSeed := seed * 1000
	cl := newTestCluster(t, nodeIDs(size), func(id NodeID) Config {
		cfgSeed++
		c := testConfig(id, cfgSeed)
		c.PreVote, c.CheckQuorum = preVote, checkQuorum
		c.MaxMsgBytes = 200
		c.MaxInflightMsgs = 4
		return c
	})
	ch := &chaos{testCluster: cl, rng: rng, leaders: map[Term]NodeID{}, appliedA: map[Index]Entry{}, seenTerm: map[Index]Term{}, noFaults: os.Getenv("NOFAULTS") != ""}
	t.Logf("seed %d size %d prevote %v checkquorum %v", seed, size, preVote, checkQuorum)
	for step := range steps {
		ch.step()
		ch.check(step)
	}
	t.Logf("chaos done: terms with leaders %d, proposed %d, applied indexes %d", len(ch.leaders), ch.proposed, len(ch.appliedA))
	// Liveness: heal, restart, and require a new entry applied everywhere.
	ch.heal()
	for _, id := range ch.ids {
		if ch.nodes[id].down {
			ch.restart(id)
		}
	}
	var want []byte
	for round := range 400 {
		ch.tickAll(1)
		ch.check(steps + round)
		if lead := ch.leader(); lead != None && want == nil {
			data := []byte(fmt.Sprintf("final-%d", seed))
			if _, _, err := ch.nodes[lead].node.Propose(data); err == nil {
				want = data
			}
		}
		if want != nil && ch.allApplied(want) {
			return
		}
	}
	for _, id := range ch.ids {
		st := ch.nodes[id].node.Status()
		t.Logf("%s: %+v applied %d", id, st.SoftState, len(ch.nodes[id].applied))
	}
	t.Fatalf("seed %d: no progress after healing", seed)
}

func (ch *chaos) allApplied(data []byte) bool {
	for _, id := range ch.ids {
		found := false
		for _, e := range ch.nodes[id].applied {
			if bytes.Equal(e.Data, data) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (ch *chaos) step() {
	id := ch.ids[ch.rng.IntN(len(ch.ids))]
	tn := ch.nodes[id]
	switch r := ch.rng.IntN(100); {
	case r < 15:
		if !tn.down {
			tn.node.Tick()
		}
	case r < 30:
		// Propose at any node that believes it leads, stale leaders
		// included: they grow divergent uncommitted suffixes.
		if !tn.down && tn.node.role == Leader {
			ch.proposed++
			tn.node.Propose([]byte(fmt.Sprintf("p%d", ch.proposed)))
		}
	case r < 45:
		ch.takeReady(tn)
	case r < 60:
		ch.persistOne(tn)
	case r < 90:
		ch.deliverRandom()
	case r < 92:
		if ch.noFaults {
			return
		}
		switch ch.rng.IntN(4) {
		case 0, 1:
			ch.heal()
		case 2:
			ch.isolate(id)
		default:
			if lead := ch.leader(); lead != None {
				ch.isolate(lead)
			}
		}
	case r < 93:
		if ch.noFaults {
			return
		}
		if tn.down {
			ch.restart(id)
		} else if ch.rng.IntN(4) == 0 {
			tn.down = true // crash: unpersisted Readys are lost
			tn.disk = nil
		}
	case r < 94:
		ch.compact(tn)
	case r < 95:
		if lead := ch.leader(); lead != None {
			ch.nodes[lead].node.TransferLeadership(ch.ids[ch.rng.IntN(len(ch.ids))])
		}
	case r < 97:
		if !tn.down {
			tn.node.ReadIndex([]byte("r"))
		}
	default:
		if !tn.down && tn.node.role == Leader {
			ch.checkReadStates(tn)
		}
	}
}

func (ch *chaos) deliverRandom() {
	if len(ch.net) == 0 {
		return
	}
	i := ch.rng.IntN(len(ch.net))
	m := ch.net[i]
	switch r := ch.rng.IntN(10); {
	case r == 0 && !ch.noFaults: // drop
	case r == 1: // duplicate: deliver and keep
		ch.deliver(m)
		return
	default:
		ch.deliver(m)
	}
	ch.net = append(ch.net[:i], ch.net[i+1:]...)
	if m.Type == MsgSnap {
		if lead := ch.nodes[m.From]; !lead.down {
			lead.node.ReportSnapshot(m.To, ch.nodes[m.To] != nil && !ch.nodes[m.To].down)
		}
	}
}

// compact snapshots a node's state machine at its applied index and drops
// most of the log before it.
func (ch *chaos) compact(tn *testNode) {
	if tn.down {
		return
	}
	applied := tn.node.log.applied
	if applied < 5 || applied <= tn.storage.Snapshot().Index {
		return
	}
	if applied > tn.storage.LastIndex() {
		return
	}
	conf := tn.node.conf.conf() // constant in this test
	if err := tn.storage.CreateSnapshot(applied, conf, 1); err != nil {
		ch.tb.Fatal(err)
	}
	if err := tn.storage.Compact(applied - 2); err != nil {
		ch.tb.Fatal(err)
	}
}

func (ch *chaos) restart(id NodeID) {
	old := ch.nodes[id]
	tn := ch.addNode(id, old.storage)
	// The state machine restarts from the snapshot; re-applied entries must
	// equal the ones applied before.
	tn.applied = append(tn.applied[:0], old.applied[:old.storage.Snapshot().Index]...)
}

func (ch *chaos) checkReadStates(tn *testNode) {}

func (ch *chaos) check(step int) {
	for _, id := range ch.ids {
		tn := ch.nodes[id]
		n := tn.node
		if n.role == Leader && !tn.down {
			if prev, ok := ch.leaders[n.term]; ok && prev != id {
				ch.tb.Fatalf("step %d: two leaders in term %d: %s and %s", step, n.term, prev, id)
			}
			ch.leaders[n.term] = id
		}
		if !(n.log.applied <= n.log.committed && n.log.committed <= n.log.lastIndex()) {
			ch.tb.Fatalf("step %d: %s: applied %d committed %d last %d", step, id, n.log.applied, n.log.committed, n.log.lastIndex())
		}
		// State Machine Safety.
		for i, e := range tn.applied {
			if e.Term == 0 {
				continue // restored from a snapshot
			}
			idx := Index(i + 1)
			if prev, ok := ch.appliedA[idx]; !ok {
				ch.appliedA[idx] = e
				ch.seenTerm[idx] = ch.maxTerm()
			} else if prev.Term != e.Term || !bytes.Equal(prev.Data, e.Data) {
				ch.tb.Fatalf("step %d: %s applied %+v at %d, another node applied %+v", step, id, e, idx, prev)
			}
		}
	}
	if step%50 == 0 {
		ch.checkLogs(step)
	}
}

// checkLogs verifies Log Matching between every pair of nodes and Leader
// Completeness for every leader.
func (ch *chaos) checkLogs(step int) {
	logs := map[NodeID][]Entry{}
	for _, id := range ch.ids {
		l := ch.nodes[id].node.log
		ents, err := l.entries(l.firstIndex(), l.lastIndex()+1, 1<<40)
		if err != nil {
			ch.tb.Fatalf("%s: reading log: %v", id, err)
		}
		logs[id] = ents
	}
	for i, a := range ch.ids {
		for _, b := range ch.ids[i+1:] {
			la, lb := logs[a], logs[b]
			// Find the highest common index with equal terms; all before it
			// must be equal.
			ia := map[Index]Entry{}
			for _, e := range la {
				ia[e.Index] = e
			}
			match := Index(0)
			for _, e := range lb {
				if o, ok := ia[e.Index]; ok && o.Term == e.Term {
					match = max(match, e.Index)
				}
			}
			for _, e := range lb {
				if o, ok := ia[e.Index]; ok && e.Index <= match {
					if o.Term != e.Term || !bytes.Equal(o.Data, e.Data) || o.Type != e.Type {
						ch.tb.Fatalf("step %d: log matching: %s and %s differ at %d (%+v vs %+v) below matching %d", step, a, b, e.Index, o, e, match)
					}
				}
			}
		}
	}
	for _, id := range ch.ids {
		n := ch.nodes[id].node
		if n.role != Leader {
			continue
		}
		for idx, e := range ch.appliedA {
			if idx < n.log.firstIndex() || n.term <= ch.seenTerm[idx] {
				continue
			}
			t, err := n.log.term(idx)
			if err != nil || t != e.Term {
				ch.tb.Fatalf("step %d: leader %s (term %d) lacks committed entry %d term %d (has %d, %v)", step, id, n.term, idx, e.Term, t, err)
			}
		}
	}
}

func testRandomizedClusterStatsUnused(t *testing.T) {
	for _, size := range []int{3, 5} {
		for seed := range uint64(3) {
			rng := rand.New(rand.NewPCG(seed, uint64(size)))
			_ = rng
		}
	}
}

func (ch *chaos) maxTerm() Term {
	var t Term
	for _, id := range ch.ids {
		t = max(t, ch.nodes[id].node.term)
	}
	return t
}
