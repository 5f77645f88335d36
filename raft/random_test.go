package raft

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRandomizedCluster runs seeded chaos against in-process clusters:
// message drop, reorder and duplication, partitions, crashes that lose
// unpersisted Readys, slow disks (several Readys outstanding), log
// compaction with snapshot transfer, and short terms: Figure 8 schedules
// (a leader's new entries reach at most one follower before it is cut off)
// and leaders cut off right after their commit index moves. One entry per
// MsgApp makes acknowledgements land on entries of earlier terms. It checks
// Election Safety, Log Matching, Leader Completeness and State Machine
// Safety (Figure 3) after every step — a committed entry is never lost or
// changed on any node — then heals the cluster and requires progress.
//
// Checked by planting bugs (see the report in git log): counting replicas
// for an entry of an earlier term (§5.4.2), committing on a MsgApp or
// heartbeat whose consistency check failed (Figure 2) are caught within
// the default seeds.
func TestRandomizedCluster(t *testing.T) {
	seeds := 400
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
	rng     *rand.Rand
	leaders map[Term]NodeID // Election Safety
	// committed[i] is the entry first seen committed (on any node) at index
	// i. No node may ever commit or apply another entry there (State
	// Machine Safety), and checkedTo[id] is how far id's committed prefix
	// has been compared with it.
	committed map[Index]Entry
	checkedTo map[NodeID]Index
	// seenTerm[i] is the highest term any node had when index i was first
	// seen committed: the entry was committed in that term or earlier, so
	// every leader of a later term must hold it (Leader Completeness).
	seenTerm map[Index]Term
	// downSince[id] is the step a crashed node went down.
	downSince map[NodeID]int
	// leaderCommit[id] is id's commit index when last seen leading.
	leaderCommit map[NodeID]Index
	stepNo       int
	proposed     int
	elections    int
}

func runChaos(t *testing.T, size int, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	preVote, checkQuorum := rng.IntN(4) != 0, rng.IntN(4) != 0
	cfgSeed := seed * 1000
	cl := newTestCluster(t, nodeIDs(size), func(id NodeID) Config {
		cfgSeed++
		c := testConfig(id, cfgSeed)
		c.PreVote, c.CheckQuorum = preVote, checkQuorum
		// Short terms and small messages: leaders change often and a
		// MsgApp carries one or two entries, so acknowledgements land on
		// entries of earlier terms (Figure 8) and followers keep stale
		// suffixes past the last new entry (Figure 2, AppendEntries rule 5).
		c.ElectionTicks = 6
		c.HeartbeatTicks = 1
		c.MaxMsgBytes = 1
		c.MaxInflightMsgs = 4
		return c
	})
	ch := &chaos{testCluster: cl, rng: rng, leaders: map[Term]NodeID{}, committed: map[Index]Entry{},
		checkedTo: map[NodeID]Index{}, seenTerm: map[Index]Term{}, downSince: map[NodeID]int{},
		leaderCommit: map[NodeID]Index{}}
	t.Logf("seed %d size %d prevote %v checkquorum %v", seed, size, preVote, checkQuorum)
	for step := range steps {
		ch.stepNo = step
		ch.step()
		ch.check(step)
	}
	t.Logf("chaos done: terms with leaders %d, proposed %d, committed indexes %d", len(ch.leaders), ch.proposed, len(ch.committed))
	if testing.Verbose() {
		for _, id := range ch.ids {
			tn := ch.nodes[id]
			t.Logf("%s down=%v role=%s term=%d commit=%d last=%d", id, tn.down, tn.node.role, tn.node.term, tn.node.log.committed, tn.node.log.lastIndex())
		}
	}
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
		t.Logf("%s: %+v applied %d first %d snap %+v progress %+v", id, st.SoftState, len(ch.nodes[id].applied), ch.nodes[id].node.log.firstIndex(), ch.nodes[id].storage.Snapshot().Index, st.Progress)
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
	// Weights per 1000 steps. Ticks are rare next to message handling so
	// that an election round trip fits in an election timeout; leaders
	// change mostly through the faults below.
	switch r := ch.rng.IntN(10000); {
	case r < 1500:
		if !tn.down {
			tn.node.Tick()
			ch.takeReady(tn)
		}
	case r < 2100:
		// Propose at any node that believes it leads, stale leaders
		// included: they grow divergent uncommitted suffixes.
		if !tn.down && tn.node.role == Leader {
			for range 1 + ch.rng.IntN(3) {
				ch.proposed++
				tn.node.Propose([]byte(fmt.Sprintf("p%d", ch.proposed)))
			}
		}
	case r < 3900:
		ch.takeReady(ch.busyNode(func(tn *testNode) bool { return tn.node.HasReady() }))
	case r < 5400:
		// The disk finishes some of the outstanding writes (in order).
		tn := ch.busyNode(func(tn *testNode) bool { return len(tn.disk) > 0 })
		for k := 1 + ch.rng.IntN(len(tn.disk)+1); k > 0 && ch.persistOne(tn); k-- {
		}
	case r < 9650:
		for range 1 + ch.rng.IntN(3) {
			ch.deliverRandom()
		}
	case r < 9750:
		ch.heal()
	case r < 9760:
		if lead := ch.leader(); lead != None {
			ch.isolate(lead)
		}
	case r < 9780:
		ch.isolate(id)
	case r < 9785:
		if lead := ch.leader(); lead != None {
			ch.crash(lead)
		}
	case r < 9795:
		ch.crash(id)
	case r < 9840:
		ch.figure8()
	case r < 9900:
		ch.compact(tn)
	case r < 9940:
		if lead := ch.leader(); lead != None {
			ch.nodes[lead].node.TransferLeadership(ch.ids[ch.rng.IntN(len(ch.ids))])
		}
	default:
		if !tn.down {
			tn.node.ReadIndex([]byte("r"))
		}
	}
	// Short terms: a leader that just advanced its commit index is often
	// cut off or crashed at once, before its own-term entries reach
	// everyone. With the entries of earlier terms it was still
	// replicating, that is the Figure 8 (§5.4.2) situation.
	if lead := ch.leader(); lead != None {
		c := ch.nodes[lead].node.log.committed
		if c > ch.leaderCommit[lead] && ch.rng.IntN(2) == 0 {
			if ch.rng.IntN(4) != 0 {
				ch.isolate(lead) // its messages in flight are lost too
			} else {
				ch.crash(lead)
			}
		}
		ch.leaderCommit[lead] = c
	}
	// Crashed nodes come back after a while.
	for _, id := range ch.ids {
		if ch.nodes[id].down && ch.stepNo-ch.downSince[id] > 20+ch.rng.IntN(80) {
			ch.restart(id)
		}
	}
}

// busyNode picks a random running node that has work, or any node.
func (ch *chaos) busyNode(hasWork func(*testNode) bool) *testNode {
	var busy []*testNode
	for _, id := range ch.ids {
		if tn := ch.nodes[id]; !tn.down && hasWork(tn) {
			busy = append(busy, tn)
		}
	}
	if len(busy) == 0 {
		return ch.nodes[ch.ids[ch.rng.IntN(len(ch.ids))]]
	}
	return busy[ch.rng.IntN(len(busy))]
}

func (ch *chaos) crash(id NodeID) {
	tn := ch.nodes[id]
	if tn.down {
		return
	}
	tn.down = true // unpersisted Readys are lost
	tn.disk = nil
	ch.downSince[id] = ch.stepNo
}

// figure8 is the schedule of Figure 8 (§5.4.2): the leader appends entries,
// they reach at most one follower (and maybe the leader's disk), then the
// leader is cut off or crashes before it can commit them. Others elect a
// new leader; the old entries are left as a minority, uncommitted suffix.
func (ch *chaos) figure8() {
	lead := ch.leader()
	if lead == None {
		return
	}
	ln := ch.nodes[lead]
	for range 1 + ch.rng.IntN(3) {
		ch.proposed++
		ln.node.Propose([]byte(fmt.Sprintf("f%d", ch.proposed)))
	}
	ch.takeReady(ln)
	lucky := ch.ids[ch.rng.IntN(len(ch.ids))]
	keep := ch.net[:0]
	var toLucky []Message
	for _, m := range ch.net {
		switch {
		case m.From != lead:
			keep = append(keep, m)
		case m.To == lucky:
			toLucky = append(toLucky, m)
		default:
			ch.reportSnapshot(m, false)
		}
	}
	ch.net = keep
	for _, m := range toLucky {
		ch.deliver(m)
	}
	if ch.rng.IntN(2) == 0 {
		ch.persistOne(ln)
	}
	if ch.rng.IntN(2) == 0 {
		ch.isolate(lead)
	} else {
		ch.crash(lead)
	}
}

func (ch *chaos) deliverRandom() {
	if len(ch.net) == 0 {
		return
	}
	// Mostly near send order, sometimes any message (reordering).
	i := ch.rng.IntN(min(len(ch.net), 4))
	if ch.rng.IntN(4) == 0 {
		i = ch.rng.IntN(len(ch.net))
	}
	m := ch.net[i]
	switch r := ch.rng.IntN(10); {
	case r == 0: // drop
	case r == 1: // duplicate: deliver and keep
		ch.deliver(m)
		return
	default:
		ch.deliver(m)
		if to := ch.nodes[m.To]; to != nil && ch.rng.IntN(4) != 0 {
			ch.takeReady(to) // usually the answer goes out at once
		}
	}
	ch.net = append(ch.net[:i], ch.net[i+1:]...)
	ch.reportSnapshot(m, ch.nodes[m.To] != nil && !ch.nodes[m.To].down)
}

// reportSnapshot tells the sender of a MsgSnap how its stream went, as the
// driver must (Node.ReportSnapshot).
func (ch *chaos) reportSnapshot(m Message, ok bool) {
	if m.Type != MsgSnap {
		return
	}
	if lead := ch.nodes[m.From]; !lead.down {
		lead.node.ReportSnapshot(m.To, ok)
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
	delete(ch.downSince, id)
	old := ch.nodes[id]
	tn := ch.addNode(id, old.storage)
	// The state machine restarts from the snapshot; re-applied entries must
	// equal the ones applied before.
	tn.applied = append(tn.applied[:0], old.applied[:old.storage.Snapshot().Index]...)
}

func (ch *chaos) check(step int) {
	for _, id := range ch.ids {
		tn := ch.nodes[id]
		n := tn.node
		if n.role == Leader && !tn.down {
			if prev, ok := ch.leaders[n.term]; ok && prev != id {
				ch.tb.Fatalf("step %d: two leaders in term %d: %s and %s", step, n.term, prev, id)
			}
			if _, ok := ch.leaders[n.term]; !ok {
				ch.elections++
			}
			ch.leaders[n.term] = id
		}
		if !(n.log.applied <= n.log.committed && n.log.committed <= n.log.lastIndex()) {
			ch.tb.Fatalf("step %d: %s: applied %d committed %d last %d", step, id, n.log.applied, n.log.committed, n.log.lastIndex())
		}
		// A committed entry never changes: every node's committed prefix
		// agrees with the first one seen.
		for i := max(ch.checkedTo[id], n.log.firstIndex()-1) + 1; i <= n.log.committed; i++ {
			ents, err := n.log.entries(i, i+1, 1)
			if err != nil {
				ch.tb.Fatalf("step %d: %s: reading committed entry %d: %v", step, id, i, err)
			}
			ch.recordCommitted(step, id, "committed", ents[0])
		}
		ch.checkedTo[id] = max(ch.checkedTo[id], n.log.committed)
		// State Machine Safety: what was applied is what was committed.
		for _, e := range tn.applied {
			if e.Term != 0 { // zero entries were restored from a snapshot
				ch.recordCommitted(step, id, "applied", e)
			}
		}
		// Leader Completeness (§5.4): a leader holds every entry committed
		// in an earlier term.
		if n.role == Leader && !tn.down {
			for idx, e := range ch.committed {
				if idx < n.log.firstIndex() || n.term <= ch.seenTerm[idx] {
					continue
				}
				t, err := n.log.term(idx)
				if err != nil || t != e.Term {
					ch.tb.Fatalf("step %d: leader %s (term %d) lacks committed entry %d/%d (has term %d, %v)", step, id, n.term, e.Term, idx, t, err)
				}
			}
		}
	}
	if step%50 == 0 {
		ch.checkLogs(step)
	}
}

func (ch *chaos) recordCommitted(step int, id NodeID, what string, e Entry) {
	prev, ok := ch.committed[e.Index]
	if !ok {
		ch.committed[e.Index] = e
		ch.seenTerm[e.Index] = ch.maxTerm()
		return
	}
	if prev.Term != e.Term || !bytes.Equal(prev.Data, e.Data) || prev.Type != e.Type {
		ch.tb.Fatalf("step %d: %s %s %d/%d %q at index %d, but %d/%d %q was committed there",
			step, id, what, e.Term, e.Index, e.Data, e.Index, prev.Term, prev.Index, prev.Data)
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
}

func (ch *chaos) maxTerm() Term {
	var t Term
	for _, id := range ch.ids {
		t = max(t, ch.nodes[id].node.term)
	}
	return t
}
