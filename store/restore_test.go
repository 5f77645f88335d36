package store

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// bigState is a store holding about size bytes of KV values.
func bigState(t testing.TB, size int) *harness {
	h := buildState(t)
	val := bytes.Repeat([]byte("v"), 64<<10)
	for i := 0; i*len(val) < size; i++ {
		h.ok(&KVOp{Verb: KVSet, Key: fmt.Sprintf("big/%05d", i), Value: val})
	}
	return h
}

// chunks cuts data into RestoreChunk ops of restore id.
func chunks(id uint64, data []byte) []*RestoreChunk {
	var out []*RestoreChunk
	for off := 0; off < len(data); off += RestoreChunkBytes {
		out = append(out, &RestoreChunk{ID: id, Offset: uint64(off), Total: uint64(len(data)),
			Data: data[off:min(off+RestoreChunkBytes, len(data))]})
	}
	return out
}

func stagedLen(s *Store) int {
	if st := s.state.Load().restore; st != nil {
		return len(st.data)
	}
	return -1
}

// A snapshot larger than one Raft entry restored chunk by chunk: the
// result is RestoreState's (same rows, every index the commit's), watches
// fire only at the commit, and the stage is gone afterwards.
func TestStagedRestore(t *testing.T) {
	src := bigState(t, 3<<20)
	data := snapshotBytes(t, src.s)
	require.Greater(t, len(data), 2*RestoreChunkBytes)

	h := newHarness(t)
	h.set("old/a", "x")
	ws := NewWatchSet()
	h.s.KVGet(ws, "old/a")
	kvIndex := h.s.KVTableIndex()
	for _, c := range chunks(7, data) {
		h.ok(c)
	}
	require.False(t, fired(ws), "chunks are invisible to reads")
	require.Equal(t, kvIndex, h.s.KVTableIndex(), "chunks move no table index")
	require.Equal(t, len(data), stagedLen(h.s))
	r := h.ok(&RestoreCommit{ID: 7, Size: uint64(len(data))})
	require.True(t, fired(ws))
	require.Equal(t, -1, stagedLen(h.s))

	// Same state as the one-entry RestoreState at the same index.
	want := newHarness(t)
	want.idx = r.Index - 1
	want.ok(&RestoreState{Data: data})
	require.Equal(t, want.s.Hash(), h.s.Hash())
	idx, e := h.s.KVGet(nil, "big/00001")
	require.Equal(t, r.Index, idx)
	require.Len(t, e.Value, 64<<10)
}

func TestStagedRestoreRules(t *testing.T) {
	src := buildState(t)
	data := snapshotBytes(t, src.s)
	half := len(data) / 2
	first := &RestoreChunk{ID: 1, Offset: 0, Total: uint64(len(data)), Data: data[:half]}
	second := &RestoreChunk{ID: 1, Offset: uint64(half), Total: uint64(len(data)), Data: data[half:]}
	for _, tc := range []struct {
		name   string
		ops    []Op
		reject bool // the last op is rejected
		staged int  // staged bytes after the ops (-1: none)
	}{
		{name: "in order", ops: []Op{first, second}, staged: len(data)},
		{name: "commit", ops: []Op{first, second, &RestoreCommit{ID: 1, Size: uint64(len(data))}}, staged: -1},
		{name: "gap", ops: []Op{first, &RestoreChunk{ID: 1, Offset: uint64(half + 1), Total: uint64(len(data)), Data: data[half+1:]}}, reject: true, staged: half},
		{name: "retry of a staged chunk is a no-op", ops: []Op{first, second, second}, staged: len(data)},
		{name: "retry with other bytes", ops: []Op{first, &RestoreChunk{ID: 1, Offset: 0, Total: uint64(len(data)), Data: make([]byte, half)}}, reject: true, staged: half},
		{name: "unknown restore", ops: []Op{first, &RestoreChunk{ID: 2, Offset: uint64(half), Total: uint64(len(data)), Data: data[half:]}}, reject: true, staged: half},
		{name: "a new restore replaces the stage", ops: []Op{first, &RestoreChunk{ID: 2, Offset: 0, Total: 3, Data: []byte("abc")}}, staged: 3},
		{name: "past total", ops: []Op{&RestoreChunk{ID: 1, Offset: 0, Total: 2, Data: []byte("abc")}}, reject: true, staged: -1},
		{name: "over the limit", ops: []Op{&RestoreChunk{ID: 1, Offset: 0, Total: maxRestoreTotal + 1, Data: []byte("a")}}, reject: true, staged: -1},
		{name: "commit short", ops: []Op{first, &RestoreCommit{ID: 1, Size: uint64(len(data))}}, reject: true, staged: half},
		{name: "commit unknown", ops: []Op{first, &RestoreCommit{ID: 3, Size: uint64(half)}}, reject: true, staged: half},
		{name: "commit of a bad snapshot keeps the stage", ops: []Op{first, &RestoreCommit{ID: 1, Size: uint64(half)}}, reject: true, staged: half},
		{name: "abort", ops: []Op{first, &RestoreCommit{ID: 1, Abort: true}}, staged: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.set("k", "v")
			for i, op := range tc.ops {
				r := h.apply(op)
				if i < len(tc.ops)-1 || !tc.reject {
					require.NoError(t, r.Err, "op %d", i)
					require.True(t, r.OK)
				} else {
					require.ErrorIs(t, r.Err, ErrRejected)
				}
			}
			require.Equal(t, tc.staged, stagedLen(h.s))
		})
	}
}

// A replica rebuilt from a snapshot taken mid-upload (the stage spanning
// several snapshot records) ends identical to one that applied every
// chunk.
func TestStagedRestoreSurvivesSnapshot(t *testing.T) {
	src := bigState(t, 2<<20)
	data := snapshotBytes(t, src.s)
	cs := chunks(5, data)
	require.Greater(t, len(cs), 3)

	a, b := newHarness(t), newHarness(t)
	a.set("k", "v")
	b.set("k", "v")
	for _, c := range cs[:3] {
		a.ok(c)
		b.ok(c)
	}
	// b restarts from its snapshot.
	snap := snapshotBytes(t, b.s)
	b.s = New()
	require.NoError(t, b.s.Restore(bytes.NewReader(snap)))
	require.Equal(t, a.s.Hash(), b.s.Hash())
	require.Equal(t, 3*RestoreChunkBytes, stagedLen(b.s))
	for _, op := range append(toOps(cs[3:]), &RestoreCommit{ID: 5, Size: uint64(len(data))}) {
		a.ok(op)
		b.ok(op)
	}
	require.Equal(t, a.s.Hash(), b.s.Hash())
	_, e := b.s.KVGet(nil, "big/00000")
	require.NotNil(t, e)
}

func toOps(cs []*RestoreChunk) []Op {
	out := make([]Op, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func TestVerifySnapshot(t *testing.T) {
	data := snapshotBytes(t, buildState(t).s)
	require.NoError(t, VerifySnapshot(data))
	require.ErrorIs(t, VerifySnapshot(data[:len(data)-1]), ErrDecode)
	require.ErrorIs(t, VerifySnapshot([]byte("hello")), ErrDecode)
}
