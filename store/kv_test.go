package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// consul-api.md §4 and §10 (KV): CAS, flags, indexes.
func TestKVWrites(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness)
		op     KVOp
		wantOK bool
		check  func(t *testing.T, h *harness)
	}{
		{
			name:   "set creates with CreateIndex == ModifyIndex",
			op:     KVOp{Verb: KVSet, Key: "a", Value: []byte("v"), Flags: 42},
			wantOK: true,
			check: func(t *testing.T, h *harness) {
				e := h.get("a")
				require.Equal(t, KVEntry{Key: "a", CreateIndex: 1, ModifyIndex: 1, Flags: 42, Value: []byte("v")}, *e)
			},
		},
		{
			name:   "set keeps CreateIndex, moves ModifyIndex",
			setup:  func(h *harness) { h.set("a", "1") },
			op:     KVOp{Verb: KVSet, Key: "a", Value: []byte("2")},
			wantOK: true,
			check: func(t *testing.T, h *harness) {
				e := h.get("a")
				require.Equal(t, uint64(1), e.CreateIndex)
				require.Equal(t, uint64(2), e.ModifyIndex)
				require.Equal(t, "2", string(e.Value))
			},
		},
		{
			name:   "cas=0 on existing key is false",
			setup:  func(h *harness) { h.set("a", "1") },
			op:     KVOp{Verb: KVCAS, Key: "a", Index: 0, Value: []byte("2")},
			wantOK: false,
			check:  func(t *testing.T, h *harness) { require.Equal(t, "1", string(h.get("a").Value)) },
		},
		{
			name:   "cas=0 on missing key creates",
			op:     KVOp{Verb: KVCAS, Key: "a", Index: 0, Value: []byte("2")},
			wantOK: true,
			check:  func(t *testing.T, h *harness) { require.Equal(t, "2", string(h.get("a").Value)) },
		},
		{
			name:   "cas with matching ModifyIndex",
			setup:  func(h *harness) { h.set("a", "1") },
			op:     KVOp{Verb: KVCAS, Key: "a", Index: 1, Value: []byte("2")},
			wantOK: true,
		},
		{
			name:   "cas with stale ModifyIndex",
			setup:  func(h *harness) { h.set("a", "1"); h.set("a", "2") },
			op:     KVOp{Verb: KVCAS, Key: "a", Index: 1, Value: []byte("3")},
			wantOK: false,
			check:  func(t *testing.T, h *harness) { require.Equal(t, "2", string(h.get("a").Value)) },
		},
		{
			name:   "cas=N on missing key is false",
			op:     KVOp{Verb: KVCAS, Key: "a", Index: 5},
			wantOK: false,
			check:  func(t *testing.T, h *harness) { require.Nil(t, h.get("a")) },
		},
		{
			name:   "delete cas=0 never deletes",
			setup:  func(h *harness) { h.set("a", "1") },
			op:     KVOp{Verb: KVDeleteCAS, Key: "a", Index: 0},
			wantOK: false,
			check:  func(t *testing.T, h *harness) { require.NotNil(t, h.get("a")) },
		},
		{
			name:   "delete cas matching",
			setup:  func(h *harness) { h.set("a", "1") },
			op:     KVOp{Verb: KVDeleteCAS, Key: "a", Index: 1},
			wantOK: true,
			check:  func(t *testing.T, h *harness) { require.Nil(t, h.get("a")) },
		},
		{
			name:   "delete missing key changes no index",
			setup:  func(h *harness) { h.set("b", "1") },
			op:     KVOp{Verb: KVDelete, Key: "a"},
			wantOK: true,
			check: func(t *testing.T, h *harness) {
				require.Equal(t, uint64(1), h.s.KVTableIndex())
				n, _ := h.s.Tombstones()
				require.Zero(t, n)
			},
		},
		{
			name:   "delete-tree deletes only the prefix",
			setup:  func(h *harness) { h.set("a/1", "x"); h.set("a/2", "x"); h.set("ab", "x") },
			op:     KVOp{Verb: KVDeleteTree, Key: "a/"},
			wantOK: true,
			check: func(t *testing.T, h *harness) {
				_, keys := h.s.KVKeys(nil, "", "")
				require.Equal(t, []string{"ab"}, keys)
				n, max := h.s.Tombstones()
				require.Equal(t, 2, n)
				require.Equal(t, uint64(4), max)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			r := h.apply(&tc.op)
			require.NoError(t, r.Err)
			require.Equal(t, tc.wantOK, r.OK)
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
}

// Locks: consul-api.md §4 (acquire/release) and §10.
func TestKVLocks(t *testing.T) {
	h := newHarness(t)
	h.node("n1")
	h.session("s1", "n1", nil)
	h.session("s2", "n1", nil)

	lock := func(sess, val string) *Result {
		return h.apply(&KVOp{Verb: KVLock, Key: "l", Value: []byte(val), Session: sess})
	}
	r := lock("s1", "a")
	require.True(t, r.OK)
	e := h.get("l")
	require.Equal(t, uint64(1), e.LockIndex)
	require.Equal(t, "s1", e.Session)

	// Same session re-acquires: value updated, LockIndex unchanged.
	require.True(t, lock("s1", "b").OK)
	e = h.get("l")
	require.Equal(t, uint64(1), e.LockIndex)
	require.Equal(t, "b", string(e.Value))

	// Another session cannot.
	require.False(t, lock("s2", "c").OK)

	// A plain set keeps the holder (locks are advisory).
	h.set("l", "plain")
	e = h.get("l")
	require.Equal(t, "s1", e.Session)
	require.Equal(t, uint64(1), e.LockIndex)

	// Release by a non-holder fails; by the holder clears Session and
	// keeps LockIndex.
	require.False(t, h.apply(&KVOp{Verb: KVUnlock, Key: "l", Session: "s2"}).OK)
	before := h.get("l").ModifyIndex
	require.True(t, h.apply(&KVOp{Verb: KVUnlock, Key: "l", Session: "s1"}).OK)
	e = h.get("l")
	require.Equal(t, "", e.Session)
	require.Equal(t, uint64(1), e.LockIndex)
	require.Greater(t, e.ModifyIndex, before)

	// A new holder bumps LockIndex.
	require.True(t, lock("s2", "d").OK)
	require.Equal(t, uint64(2), h.get("l").LockIndex)

	// An unknown session is rejected and changes nothing.
	r = h.apply(&KVOp{Verb: KVLock, Key: "m", Session: "nope"})
	require.True(t, errors.Is(r.Err, ErrRejected), "%v", r.Err)
	require.Nil(t, h.get("m"))

	// No session at all: both verbs are refused (Consul's "missing session").
	for _, v := range []KVVerb{KVLock, KVUnlock} {
		r = h.apply(&KVOp{Verb: v, Key: "l", Session: ""})
		require.ErrorContains(t, r.Err, "missing session", "%v", v)
	}
	require.Equal(t, "s2", h.get("l").Session)
}

// A session keeps the LockDelay it was given; the delay its release imposes
// is capped at MaxLockDelay (Consul's structs.MaxLockDelay).
func TestLockDelayCap(t *testing.T) {
	h := newHarness(t)
	h.node("n1")
	h.session("s1", "n1", func(s *Session) { s.LockDelay = 5 * time.Minute })
	_, s := h.s.SessionGet(nil, "s1")
	require.Equal(t, 5*time.Minute, s.LockDelay)
	h.ok(&KVOp{Verb: KVLock, Key: "l", Session: "s1"})
	h.ok(&SessionDestroy{ID: "s1"})
	require.Equal(t, t0.Add(MaxLockDelay), h.s.KVLockDelay("l"))
}

// After a session is invalidated, its keys cannot be re-acquired for the
// lock-delay (leader time carried in the commands).
func TestLockDelay(t *testing.T) {
	h := newHarness(t)
	h.node("n1")
	h.session("s1", "n1", func(s *Session) { s.LockDelay = 10 * time.Second })
	h.session("s2", "n1", nil)
	h.ok(&KVOp{Verb: KVLock, Key: "l", Session: "s1"})
	h.ok(&SessionDestroy{ID: "s1"})
	require.Equal(t, "", h.get("l").Session)
	require.Equal(t, t0.Add(10*time.Second), h.s.KVLockDelay("l"))

	h.now = t0.Add(9 * time.Second)
	require.False(t, h.apply(&KVOp{Verb: KVLock, Key: "l", Session: "s2"}).OK)
	h.now = t0.Add(10 * time.Second)
	require.True(t, h.apply(&KVOp{Verb: KVLock, Key: "l", Session: "s2"}).OK)
	require.True(t, h.s.KVLockDelay("l").IsZero(), "expired delay forgotten")
}

// Index rules: consul-api.md §2.4, §2.6.
func TestKVIndexes(t *testing.T) {
	h := newHarness(t)
	idx, e := h.s.KVGet(nil, "missing")
	require.Nil(t, e)
	require.Equal(t, uint64(1), idx, "never 0")

	h.set("a/1", "x") // 1
	h.set("a/2", "x") // 2
	h.set("b/1", "x") // 3
	idx, _ = h.s.KVGet(nil, "a/1")
	require.Equal(t, uint64(1), idx, "entry's ModifyIndex")
	idx, _ = h.s.KVGet(nil, "zzz")
	require.Equal(t, uint64(3), idx, "missing key: table index")

	idx, list := h.s.KVList(nil, "a/")
	require.Equal(t, uint64(2), idx)
	require.Len(t, list, 2)

	h.ok(&KVOp{Verb: KVDelete, Key: "a/2"}) // 4
	idx, list = h.s.KVList(nil, "a/")
	require.Equal(t, uint64(4), idx, "tombstone index under the prefix")
	require.Len(t, list, 1)
	idx, _ = h.s.KVList(nil, "b/")
	require.Equal(t, uint64(3), idx, "other prefixes unaffected")
	idx, _ = h.s.KVGet(nil, "a/2")
	require.Equal(t, uint64(4), idx)

	idx, list = h.s.KVList(nil, "c/")
	require.Equal(t, uint64(4), idx, "empty prefix: table index")
	require.Empty(t, list)

	// Reaping moves the table index forward and drops the tombstone.
	h.ok(&TombstoneReap{Index: 4}) // 5
	n, _ := h.s.Tombstones()
	require.Zero(t, n)
	require.Equal(t, uint64(5), h.s.KVTableIndex())
	idx, _ = h.s.KVList(nil, "a/")
	require.Equal(t, uint64(1), idx, "as Consul: live max after reap")
}

func TestKVKeysSeparator(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"a/b", "a/c/d", "a/c/e", "a/f/", "b"} {
		h.set(k, "")
	}
	tests := []struct {
		prefix, sep string
		want        []string
	}{
		{"", "", []string{"a/b", "a/c/d", "a/c/e", "a/f/", "b"}},
		{"a/", "/", []string{"a/b", "a/c/", "a/f/"}},
		{"", "/", []string{"a/", "b"}},
		{"a/c", "/", []string{"a/c/"}},
		{"x", "/", nil},
	}
	for _, tc := range tests {
		_, got := h.s.KVKeys(nil, tc.prefix, tc.sep)
		require.Equal(t, tc.want, got, "prefix %q sep %q", tc.prefix, tc.sep)
	}
}

// A published version never changes: a reader holding it keeps its view.
func TestSnapshotIsolation(t *testing.T) {
	h := newHarness(t)
	for i := range 200 {
		h.set(string(rune('a'+i%26))+"/"+string(rune('0'+i%10)), "v1")
	}
	snap := h.s.Snapshot()
	before := snap.t.kv.Len()
	var keys []string
	snap.t.kv.Scan(func(e *KVEntry) bool { keys = append(keys, e.Key+string(e.Value)); return true })
	h.ok(&KVOp{Verb: KVDeleteTree, Key: ""})
	h.set("new", "v2")
	var after []string
	snap.t.kv.Scan(func(e *KVEntry) bool { after = append(after, e.Key+string(e.Value)); return true })
	require.Equal(t, before, snap.t.kv.Len())
	require.True(t, slices.Equal(keys, after))
}
