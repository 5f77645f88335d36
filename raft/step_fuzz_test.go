package raft

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestStepArbitraryMessages steps random, half-plausible messages (terms and
// indexes near the target's own, entries, snapshots, configurations, read
// contexts) into nodes in every role and requires that Step never panics and
// that the node's basic invariants survive. Network input must be dropped or
// rejected, never crash the server (doc.go; STYLE habit 7).
func TestStepArbitraryMessages(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cl := newTestCluster(t, nodeIDs(3), func(id NodeID) Config {
			c := testConfig(id, 7)
			c.MaxInflightMsgs = 2
			return c
		})
		// Bring the cluster to some state: a leader with a few entries, or
		// still electing.
		if rapid.Bool().Draw(rt, "elect") {
			cl.nodes["n1"].node.Campaign()
			cl.stabilize()
			for i := range rapid.IntRange(0, 4).Draw(rt, "props") {
				cl.nodes["n1"].node.Propose([]byte(fmt.Sprint(i)))
			}
			cl.stabilize()
		}
		// n4 is a server with empty storage, as when it is being added.
		cl.addNode("n4", NewMemoryStorage())
		target := cl.nodes[rapid.SampledFrom([]NodeID{"n1", "n2", "n3", "n4"}).Draw(rt, "target")]
		switch rapid.IntRange(0, 3).Draw(rt, "role") {
		case 1:
			if target.node.promotable() {
				target.node.becomePreCandidate()
			}
		case 2:
			if target.node.promotable() {
				target.node.becomeCandidate(false)
			}
		case 3:
			if target.node.role != Leader && target.node.promotable() {
				target.node.becomeCandidate(false)
				target.node.becomeLeader()
			}
		}
		n := target.node
		for range rapid.IntRange(1, 30).Draw(rt, "msgs") {
			m := drawMessage(rt, n)
			func() {
				defer func() {
					if r := recover(); r != nil {
						rt.Fatalf("Step(%+v) on %s %s panicked: %v", m, n.role, n.id, r)
					}
				}()
				_ = n.Step(m)
				switch rapid.IntRange(0, 3).Draw(rt, "then") {
				case 0:
					n.Tick()
				case 1:
					stepReadyForFuzz(rt, target)
				}
			}()
			if !(n.log.applied <= n.log.committed && n.log.committed <= n.log.lastIndex()) {
				rt.Fatalf("applied %d committed %d last %d", n.log.applied, n.log.committed, n.log.lastIndex())
			}
		}
	})
}

// stepReadyForFuzz takes and persists one Ready like a driver would; a
// storage error here means the core asked for something impossible.
func stepReadyForFuzz(rt *rapid.T, tn *testNode) {
	if !tn.node.HasReady() {
		return
	}
	rd := tn.node.Ready()
	if rd.Snapshot != nil {
		if err := tn.storage.ApplySnapshot(*rd.Snapshot); err != nil {
			rt.Fatalf("apply snapshot %+v: %v", *rd.Snapshot, err)
		}
	}
	if err := tn.storage.Append(rd.HardState, rd.Entries); err != nil {
		rt.Fatalf("append: %v", err)
	}
	tn.node.Persisted(rd.Persist)
	if k := len(rd.CommittedEntries); k > 0 {
		tn.node.Applied(rd.CommittedEntries[k-1].Index)
	}
}

func drawMessage(rt *rapid.T, n *Node) Message {
	term := n.term
	last := n.log.lastIndex()
	ids := []NodeID{"n1", "n2", "n3", "n4", None, n.id}
	m := Message{
		Type:          MessageType(rapid.IntRange(0, 15).Draw(rt, "type")),
		From:          rapid.SampledFrom(ids).Draw(rt, "from"),
		To:            rapid.SampledFrom([]NodeID{None, n.id, "n9"}).Draw(rt, "to"),
		Term:          Term(rapid.Uint64Range(uint64(max(term, 2)-1), uint64(term)+2).Draw(rt, "term")),
		LogTerm:       Term(rapid.Uint64Range(0, uint64(term)+1).Draw(rt, "logterm")),
		Index:         Index(rapid.Uint64Range(0, uint64(last)+3).Draw(rt, "index")),
		Commit:        Index(rapid.Uint64Range(0, uint64(last)+3).Draw(rt, "commit")),
		Reject:        rapid.Bool().Draw(rt, "reject"),
		ConflictTerm:  Term(rapid.Uint64Range(0, uint64(term)+1).Draw(rt, "cterm")),
		ConflictIndex: Index(rapid.Uint64Range(0, uint64(last)+3).Draw(rt, "cindex")),
	}
	if rapid.Bool().Draw(rt, "bigindex") {
		m.Index += 1 << 40
	}
	switch rapid.IntRange(0, 3).Draw(rt, "ctx") {
	case 1:
		m.Context = roundContext(rapid.Uint64Range(0, 5).Draw(rt, "round"))
	case 2:
		m.Context = transferMarker
	case 3:
		m.Context = rapid.SliceOfN(rapid.Byte(), 0, 9).Draw(rt, "ctxbytes")
	}
	for i := range rapid.IntRange(0, 3).Draw(rt, "nents") {
		e := Entry{
			Index: m.Index + Index(i) + 1,
			Term:  Term(rapid.Uint64Range(uint64(min(m.LogTerm, m.Term)), uint64(m.Term)).Draw(rt, "eterm")),
			Type:  EntryType(rapid.IntRange(0, 4).Draw(rt, "etype")),
		}
		if i > 0 {
			e.Term = max(e.Term, m.Entries[i-1].Term)
		}
		if e.Type == EntryConfig && rapid.Bool().Draw(rt, "goodconf") {
			e.Data = EncodeConfiguration(drawConfiguration(rt))
		} else {
			e.Data = rapid.SliceOfN(rapid.Byte(), 0, 6).Draw(rt, "data")
		}
		m.Entries = append(m.Entries, e)
	}
	if rapid.IntRange(0, 3).Draw(rt, "snap") == 0 {
		idx := Index(rapid.Uint64Range(0, uint64(last)+5).Draw(rt, "sindex"))
		m.Snapshot = &SnapshotMeta{
			Index:         idx,
			Term:          Term(rapid.Uint64Range(0, uint64(m.Term)).Draw(rt, "sterm")),
			Configuration: drawConfiguration(rt),
			ConfigIndex:   Index(rapid.Uint64Range(0, uint64(idx)+1).Draw(rt, "sconfidx")),
		}
	}
	return m
}

func drawConfiguration(rt *rapid.T) Configuration {
	var c Configuration
	for _, id := range []NodeID{"n1", "n2", "n3", "n4"} {
		switch rapid.IntRange(0, 2).Draw(rt, "member") {
		case 1:
			c.Servers = append(c.Servers, Server{ID: id, Suffrage: Voter})
		case 2:
			c.Servers = append(c.Servers, Server{ID: id, Suffrage: Nonvoter})
		}
	}
	return c
}
