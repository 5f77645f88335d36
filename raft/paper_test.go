package raft

import "testing"

func leaderN1(t *testing.T, size int) *testCluster {
	t.Helper()
	c := newTestCluster(t, nodeIDs(size), func(id NodeID) Config { return testConfig(id, 1) })
	if err := c.nodes["n1"].node.Campaign(); err != nil {
		t.Fatal(err)
	}
	c.stabilize()
	return c
}

// §5.4.2 / Figure 8: a leader never commits an entry of an earlier term by
// counting replicas; it commits it only with an entry of its own term.
func TestCommitOnlyCurrentTerm(t *testing.T) {
	c := leaderN1(t, 3)
	n := c.nodes["n1"].node
	c.isolate("n1")
	if _, _, err := n.Propose([]byte("old")); err != nil {
		t.Fatal(err)
	}
	c.stabilize() // entry 3 (term 2) durable on n1 only
	// n1 is re-elected in term 3 (internals: skip the messages).
	n.becomeCandidate(false)
	n.becomeLeader() // appends the no-op 3/4, not yet durable
	n.prs["n2"].match = 3
	n.prs["n1"].match = 3
	if n.maybeCommit() || n.log.committed != 2 {
		t.Fatalf("committed %d from a majority holding an old-term entry", n.log.committed)
	}
	n.prs["n2"].match = 4
	n.prs["n1"].match = 4
	if !n.maybeCommit() || n.log.committed != 4 {
		t.Fatalf("commit %d, want 4 once the own-term entry is on a majority", n.log.committed)
	}
}

// Figure 2, AppendEntries rule 5 (pitfall 9): commitIndex = min(leaderCommit,
// index of last new entry), not the follower's last index, which may hold a
// stale suffix.
func TestFollowerCommitBoundedByLastNewEntry(t *testing.T) {
	c := leaderN1(t, 3)
	f := c.nodes["n2"].node
	// Give n2 a stale uncommitted suffix from a term-2 leader: 2/3, 2/4.
	stale := []Entry{{Term: 2, Index: 3, Type: EntryNormal, Data: []byte("s3")}, {Term: 2, Index: 4, Type: EntryNormal, Data: []byte("s4")}}
	if err := f.Step(Message{Type: MsgApp, From: "n1", To: "n2", Term: 2, Index: 2, LogTerm: 2, Entries: stale, Commit: 2}); err != nil {
		t.Fatal(err)
	}
	// A term-3 leader whose log differs at 4 sends only up to 3, with commit 4.
	m := Message{Type: MsgApp, From: "n3", To: "n2", Term: 3, Index: 2, LogTerm: 2, Entries: stale[:1], Commit: 4}
	if err := f.Step(m); err != nil {
		t.Fatal(err)
	}
	if f.log.committed != 3 {
		t.Fatalf("committed %d, want 3 (last new entry)", f.log.committed)
	}
	// Heartbeats run the same check (pitfall 2): a mismatching prev is rejected.
	f.Step(Message{Type: MsgHeartbeat, From: "n3", To: "n2", Term: 3, Index: 4, LogTerm: 3, Commit: 4})
	if f.log.committed != 3 {
		t.Fatalf("heartbeat with a mismatching prev moved commit to %d", f.log.committed)
	}
	// Pitfall 3: a stale, reordered MsgApp holding only a prefix truncates nothing.
	f.Step(Message{Type: MsgApp, From: "n3", To: "n2", Term: 3, Index: 2, LogTerm: 2, Commit: 3})
	if f.log.lastIndex() != 4 {
		t.Fatalf("last index %d after a prefix-only MsgApp, want 4", f.log.lastIndex())
	}
}

// §5.4.1 (pitfall 6): votes go by last term first, then last index.
func TestVoteUpToDate(t *testing.T) {
	c := leaderN1(t, 3) // logs: 1/1, 2/2
	f := c.nodes["n2"].node
	for _, tc := range []struct {
		name      string
		lastTerm  Term
		lastIndex Index
		grant     bool
	}{
		{"longer log, older term", 1, 10, false},
		{"same term, shorter", 2, 1, false},
		{"same term, same length", 2, 2, true},
		{"newer term, shorter", 3, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Step(Message{Type: MsgVote, From: "n3", To: "n2", Term: f.term + 1, Index: tc.lastIndex, LogTerm: tc.lastTerm, Context: transferMarker})
			got := f.msgsAfterPersist[len(f.msgsAfterPersist)-1]
			if got.Type != MsgVoteResp || got.Reject == tc.grant {
				t.Fatalf("got %+v, want grant=%v", got, tc.grant)
			}
		})
	}
}

// Step never panics on garbage and wraps ErrStepBadMessage.
func TestStepBadMessages(t *testing.T) {
	c := leaderN1(t, 3)
	n := c.nodes["n2"].node
	for _, m := range []Message{
		{Type: 0, From: "n1", Term: 2},
		{Type: 99, From: "n1", Term: 2},
		{Type: MsgApp, From: "", Term: 2},
		{Type: MsgApp, From: "n2", Term: 2},
		{Type: MsgApp, From: "n1", To: "n9", Term: 2},
		{Type: MsgApp, From: "n1", Term: 2, Index: 2, Entries: []Entry{{Term: 2, Index: 5, Type: EntryNormal}}},
		{Type: MsgApp, From: "n1", Term: 2, Index: 2, Entries: []Entry{{Term: 2, Index: 3, Type: EntryConfig, Data: []byte{1, 200}}}},
		{Type: MsgSnap, From: "n1", Term: 2},
		{Type: MsgProp, From: "n1", Term: 2},
	} {
		if err := n.Step(m); err == nil {
			t.Errorf("Step(%+v) accepted", m)
		}
	}
}
