package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTxn(t *testing.T) {
	tests := []struct {
		name       string
		ops        []KVOp
		wantErrs   []TxnError
		wantKeys   []string // results' keys, when applied
		wantValues []string // results' values ("" = nil)
	}{
		{
			name: "writes and reads apply atomically",
			ops: []KVOp{
				{Verb: KVSet, Key: "x", Value: []byte("1")},
				{Verb: KVCAS, Key: "y", Index: 0, Value: []byte("2")},
				{Verb: KVGet, Key: "x"},
				{Verb: KVGetTree, Key: "a/"},
				{Verb: KVCheckIndex, Key: "a/1", Index: 1},
				{Verb: KVCheckNotExists, Key: "nope"},
				{Verb: KVDelete, Key: "a/2"},
				{Verb: KVGetOrEmpty, Key: "nope"},
			},
			wantKeys:   []string{"x", "y", "x", "a/1", "a/2", "a/1", "nope"},
			wantValues: []string{"", "", "1", "v1", "v2", "", ""},
		},
		{
			name: "every failure reported, nothing applied",
			ops: []KVOp{
				{Verb: KVSet, Key: "x", Value: []byte("1")},
				{Verb: KVCAS, Key: "a/1", Index: 99},
				{Verb: KVGet, Key: "nope"},
				{Verb: KVCheckIndex, Key: "a/1", Index: 7},
				{Verb: KVCheckNotExists, Key: "a/1"},
				{Verb: KVCheckSession, Key: "a/1", Session: "s"},
				{Verb: KVLock, Key: "a/1", Session: "nope"},
				{Verb: KVUnlock, Key: "a/1", Session: "s"},
				{Verb: KVDeleteCAS, Key: "a/1", Index: 5},
			},
			wantErrs: []TxnError{
				{1, `failed to set key "a/1", index is stale`},
				{2, `key "nope" doesn't exist`},
				{3, `failed index check for key "a/1", current modify index 1 != 7`},
				{4, `key "a/1" exists`},
				{5, `failed session check for key "a/1", current session "" != "s"`},
				{6, `invalid session "nope"`},
				{7, `failed to unlock key "a/1", lock isn't held, or is held by another session`},
				{8, `failed to delete key "a/1", index is stale`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.set("a/1", "v1")
			h.set("a/2", "v2")
			hash := h.s.Hash()
			r := h.apply(&Txn{Ops: tc.ops})
			require.NoError(t, r.Err)
			require.NotNil(t, r.Txn)
			if tc.wantErrs != nil {
				require.False(t, r.OK)
				require.Equal(t, tc.wantErrs, r.Txn.Errors)
				require.Nil(t, r.Txn.Results)
				require.Nil(t, h.get("x"), "rolled back")
				// Only the applied index moved: same state as a no-op
				// command at that index.
				require.NotEqual(t, hash, h.s.Hash())
				h2 := newHarness(t)
				h2.set("a/1", "v1")
				h2.set("a/2", "v2")
				h2.ok(&TombstoneReap{Index: 0})
				require.Equal(t, h.s.Hash(), h2.s.Hash())
				require.Equal(t, uint64(2), h.s.KVTableIndex())
				return
			}
			require.True(t, r.OK)
			require.Empty(t, r.Txn.Errors)
			var keys, vals []string
			for _, res := range r.Txn.Results {
				keys = append(keys, res.KV.Key)
				vals = append(vals, string(res.KV.Value))
			}
			require.Equal(t, tc.wantKeys, keys)
			require.Equal(t, tc.wantValues, vals)
			require.Nil(t, h.get("a/2"))
			require.Equal(t, "1", string(h.get("x").Value))
		})
	}
}

func TestTxnLockAndReadOnly(t *testing.T) {
	h := newHarness(t)
	h.node("n1")
	h.session("s1", "n1", nil)
	r := h.ok(&Txn{Ops: []KVOp{
		{Verb: KVLock, Key: "l", Session: "s1"},
		{Verb: KVCheckSession, Key: "l", Session: "s1"},
	}})
	require.Equal(t, uint64(1), r.Txn.Results[0].KV.LockIndex)

	idx, res, ok := h.s.TxnRead([]KVOp{{Verb: KVGet, Key: "l"}, {Verb: KVCheckSession, Key: "l", Session: "s1"}})
	require.True(t, ok)
	require.Equal(t, h.idx, idx)
	require.Empty(t, res.Errors)
	require.Len(t, res.Results, 2)

	_, _, ok = h.s.TxnRead([]KVOp{{Verb: KVSet, Key: "l"}})
	require.False(t, ok, "writes need Raft")

	// A read verb alone is not a command.
	require.ErrorIs(t, h.apply(&KVOp{Verb: KVGet, Key: "l"}).Err, ErrRejected)
}
