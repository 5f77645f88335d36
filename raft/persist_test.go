package raft

import "testing"

// A Persisted mark names the last entry of its Ready by (index, term). If
// the log is truncated and the very same (index, term) entries are appended
// again while that Ready is still on disk, the old mark must not declare the
// new copies durable: the truncating Ready written after it would remove
// them from storage while the core believes they are there (etcd's "aba
// race"; Figure 2: entries are durable before they are acknowledged).
func TestStaleMarkAfterTruncationABA(t *testing.T) {
	st := NewMemoryStorage()
	hs, boot := BootstrapEntries(Configuration{Servers: []Server{
		{ID: "n1", Suffrage: Voter}, {ID: "n2", Suffrage: Voter}, {ID: "n3", Suffrage: Voter}}})
	if err := st.Append(hs, boot); err != nil {
		t.Fatal(err)
	}
	n, err := NewNode(testConfig("n2", 1), st)
	if err != nil {
		t.Fatal(err)
	}
	ent := func(term Term, i Index) Entry {
		return Entry{Term: term, Index: i, Type: EntryNormal, Data: []byte{byte(i)}}
	}
	step := func(m Message) {
		t.Helper()
		if err := n.Step(m); err != nil {
			t.Fatal(err)
		}
	}
	// Ready A: entries 2..4 of term 2 (leader n1).
	step(Message{Type: MsgApp, From: "n1", Term: 2, Index: 1, LogTerm: 1, Entries: []Entry{ent(2, 2), ent(2, 3), ent(2, 4)}, Commit: 1})
	rdA := n.Ready()
	// Ready B: a term-3 leader (n3) replaces 3..4 with its own 3.
	step(Message{Type: MsgApp, From: "n3", Term: 3, Index: 2, LogTerm: 2, Entries: []Entry{ent(3, 3)}, Commit: 1})
	rdB := n.Ready()
	// Ready C: a term-4 leader (n1, which never saw 3/3) sends 2..4 of term
	// 2 again and commits them.
	step(Message{Type: MsgApp, From: "n1", Term: 4, Index: 1, LogTerm: 1, Entries: []Entry{ent(2, 2), ent(2, 3), ent(2, 4)}, Commit: 4})
	rdC := n.Ready()
	for _, rd := range []Ready{rdA, rdB, rdC} {
		if err := st.Append(rd.HardState, rd.Entries); err != nil {
			t.Fatal(err)
		}
		n.Persisted(rd.Persist)
		// Whatever the core believes durable must be what storage holds.
		if d := n.log.durableLast(); d > st.LastIndex() {
			t.Fatalf("after persisting up to %d: core treats %d as durable, storage ends at %d", rd.Persist.LastIndex, d, st.LastIndex())
		}
		if last, tm := n.log.lastIndex(), n.log.lastTerm(); last != 4 || tm != 2 {
			t.Fatalf("after persisting up to %d: core's log ends at %d/%d, want 2/4", rd.Persist.LastIndex, tm, last)
		}
	}
}
