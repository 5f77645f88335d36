package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

// buildState makes a store with rows in every table.
func buildState(t testing.TB) *harness {
	h := newHarness(t)
	h.node("n1")
	h.ok(&Register{Node: Node{Node: "n2", ID: "id2", Address: "10.0.0.2", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"lan": "10.0.0.2", "wan": "1.2.3.4"}, Meta: map[string]string{"rack": "r1"}},
		Service: &Service{Service: "web", Tags: []string{"a", "b"}, Port: 80, Meta: map[string]string{"v": "1"}},
		Checks:  []Check{{CheckID: "web-alive", ServiceID: "web", Status: HealthPassing, Output: "ok"}}})
	h.session("s1", "n1", nil)
	h.session("s2", "n2", func(s *Session) {
		s.NodeChecks = []string{}
		s.ServiceChecks = []ServiceCheck{{ID: "web-alive"}}
		s.Behavior = BehaviorDelete
		s.TTL = "30s"
		s.Name = "svc lock"
	})
	h.set("a/1", "one")
	h.ok(&KVOp{Verb: KVSet, Key: "a/2", Value: bytes.Repeat([]byte{0, 0xff}, 1000), Flags: 7})
	h.ok(&KVOp{Verb: KVLock, Key: "lock/1", Session: "s1"})
	h.ok(&KVOp{Verb: KVLock, Key: "lock/2", Session: "s2"})
	h.ok(&KVOp{Verb: KVLock, Key: "lock/3", Session: "s1"})
	h.ok(&KVOp{Verb: KVDelete, Key: "a/1"})
	h.ok(&SessionCreate{Session: Session{ID: "s3", Node: "n1", LockDelay: time.Second}})
	h.ok(&KVOp{Verb: KVLock, Key: "lock/4", Session: "s3"})
	h.ok(&SessionDestroy{ID: "s3"}) // leaves a lock delay
	return h
}

func snapshotBytes(t testing.TB, s *Store) []byte {
	var buf bytes.Buffer
	n, err := s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), n)
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := buildState(t)
	data := snapshotBytes(t, h.s)

	fsm := NewFSM(New())
	require.NoError(t, fsm.Restore(bytes.NewReader(data)))
	s2 := fsm.Store()
	require.Equal(t, h.s.Hash(), s2.Hash())
	require.Equal(t, h.s.AppliedIndex(), s2.AppliedIndex())
	require.Equal(t, data, snapshotBytes(t, s2), "byte-identical re-encoding")

	// Derived indexes were rebuilt: destroying s1 releases its two keys.
	h.ok(&SessionDestroy{ID: "s1"})
	r := fsm.Apply(raft.Entry{Index: raft.Index(h.idx), Type: raft.EntryNormal, Data: EncodeCommand(h.now, &SessionDestroy{ID: "s1"})}).(*Result)
	require.True(t, r.OK)
	require.Equal(t, h.s.Hash(), s2.Hash())
	_, e := s2.KVGet(nil, "lock/3")
	require.Equal(t, "", e.Session)
	// And the service check links s2: critical deletes lock/2.
	crit := &Register{Node: Node{Node: "n2", ID: "id2", Address: "10.0.0.2", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"lan": "10.0.0.2", "wan": "1.2.3.4"}, Meta: map[string]string{"rack": "r1"}},
		Checks: []Check{{CheckID: "web-alive", ServiceID: "web", Status: HealthCritical}}}
	h.ok(crit)
	s2.Apply(h.idx, EncodeCommand(h.now, crit))
	_, e = s2.KVGet(nil, "lock/2")
	require.Nil(t, e)
	require.Equal(t, h.s.Hash(), s2.Hash())
}

func TestSnapshotCorruption(t *testing.T) {
	h := buildState(t)
	data := snapshotBytes(t, h.s)
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }},
		{"flipped checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0) }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"empty", func(b []byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.Apply(1, EncodeCommand(t0, &KVOp{Verb: KVSet, Key: "keep"}))
			before := s.Hash()
			err := s.Restore(bytes.NewReader(tc.mod(bytes.Clone(data))))
			require.ErrorIs(t, err, ErrDecode)
			require.Equal(t, before, s.Hash(), "state untouched")
		})
	}
}

// A snapshot taken before later writes still writes the old version.
func TestSnapshotWhileApplying(t *testing.T) {
	h := buildState(t)
	want := snapshotBytes(t, h.s)
	snap := h.s.Snapshot()
	done := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		_, _ = snap.WriteTo(&buf)
		done <- buf.Bytes()
	}()
	for i := range 500 {
		h.set("a/2", string(rune(i)))
		h.ok(&KVOp{Verb: KVDeleteTree, Key: "lock/"})
	}
	require.Equal(t, want, <-done)
}

// RestoreState (snapshot restore through Raft): state replaced, every index
// moves forward to the command's index, every watch fires.
func TestRestoreStateCommand(t *testing.T) {
	src := buildState(t)
	data := snapshotBytes(t, src.s)

	h := newHarness(t)
	for i := range 30 {
		h.set("old/"+string(rune('a'+i)), "x")
	}
	ws := NewWatchSet()
	h.s.KVGet(ws, "old/a")
	r := h.ok(&RestoreState{Data: data})
	require.True(t, fired(ws))
	_, e := h.s.KVGet(nil, "old/a")
	require.Nil(t, e)
	idx, e := h.s.KVGet(nil, "a/2")
	require.Equal(t, r.Index, idx)
	require.Equal(t, r.Index, e.ModifyIndex)
	require.Equal(t, r.Index, h.s.KVTableIndex())
	_, sess := h.s.SessionGet(nil, "s1")
	require.Equal(t, r.Index, sess.ModifyIndex)
	require.LessOrEqual(t, sess.CreateIndex, sess.ModifyIndex)

	bad := h.apply(&RestoreState{Data: data[:len(data)-1]})
	require.ErrorIs(t, bad.Err, ErrRejected)
	idx, _ = h.s.KVGet(nil, "a/2")
	require.Equal(t, r.Index, idx, "a bad restore changes nothing")
}
