package raft

import (
	"testing"
)

// BenchmarkCommit3Nodes measures the core alone: three nodes in one process,
// an in-memory transport and MemoryStorage, one 16-byte entry per proposal.
// It reports entries/s committed and applied on all three nodes. Proposals
// are batched the way a driver batches them: up to batch proposals between
// two Ready rounds.
func BenchmarkCommit3Nodes(b *testing.B) {
	const batch = 256
	cl := newTestCluster(b, nodeIDs(3), func(id NodeID) Config {
		c := testConfig(id, 1)
		c.MaxInflightMsgs = 256
		return c
	})
	if err := cl.nodes["n1"].node.Campaign(); err != nil {
		b.Fatal(err)
	}
	cl.stabilize()
	lead := cl.nodes["n1"]
	for _, tn := range cl.nodes {
		tn.applied = nil // keep memory flat: count instead
	}
	data := make([]byte, 16)
	start := lead.node.log.lastIndex()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		for k := 0; k < batch && i < b.N; k++ {
			if _, _, err := lead.node.Propose(data); err != nil {
				b.Fatal(err)
			}
			i++
		}
		benchRound(cl)
	}
	want := start + Index(b.N)
	for range 1000 {
		done := true
		for _, tn := range cl.nodes {
			if tn.node.log.applied < want {
				done = false
			}
		}
		if done {
			break
		}
		benchRound(cl)
	}
	b.StopTimer()
	for _, id := range cl.ids {
		if got := cl.nodes[id].node.log.applied; got < want {
			b.Fatalf("%s applied %d, want %d", id, got, want)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// benchRound does one Ready/persist/deliver pass over all nodes, applying
// without recording entries.
func benchRound(cl *testCluster) {
	for _, id := range cl.ids {
		tn := cl.nodes[id]
		for tn.node.HasReady() {
			rd := tn.node.Ready()
			cl.net = append(cl.net, rd.Messages...)
			if err := tn.storage.Append(rd.HardState, rd.Entries); err != nil {
				panic(err)
			}
			cl.net = append(cl.net, rd.MessagesAfterPersist...)
			tn.node.Persisted(rd.Persist)
			if k := len(rd.CommittedEntries); k > 0 {
				tn.node.Applied(rd.CommittedEntries[k-1].Index)
			}
		}
	}
	msgs := cl.net
	cl.net = nil
	for i := range msgs {
		if err := cl.nodes[msgs[i].To].node.Step(msgs[i]); err != nil {
			panic(err)
		}
	}
}
