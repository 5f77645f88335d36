package agent

import (
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// TestAPITxnEveryVerb runs each KV verb through the official client, one
// transaction per row, in order, against one agent: the result entries
// (values only for reads, none for deletes and check-not-exists) and
// Consul's error texts for the failures.
func TestAPITxnEveryVerb(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	sid, _, err := c.Session().Create(&api.SessionEntry{LockDelay: 1}, nil)
	require.NoError(t, err)
	var idx uint64 // t/k's ModifyIndex after the first row

	type want struct {
		key     string
		value   string // "" is no value
		session bool
		lockIdx uint64
	}
	for _, tc := range []struct {
		name    string
		op      func() *api.KVTxnOp
		results []want
		err     string // the single error's What; "" for success
	}{
		{name: "set", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVSet, Key: "t/k", Value: []byte("v")} }, results: []want{{key: "t/k"}}},
		{name: "cas stale", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCAS, Key: "t/k", Value: []byte("x"), Index: 0} }, err: `failed to set key "t/k", index is stale`},
		{name: "cas", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCAS, Key: "t/k", Value: []byte("v2"), Index: idx} }, results: []want{{key: "t/k"}}},
		{name: "get", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVGet, Key: "t/k"} }, results: []want{{key: "t/k", value: "v2"}}},
		{name: "get missing", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVGet, Key: "t/none"} }, err: `key "t/none" doesn't exist`},
		{name: "lock", op: func() *api.KVTxnOp {
			return &api.KVTxnOp{Verb: api.KVLock, Key: "t/l", Value: []byte("l"), Session: sid}
		}, results: []want{{key: "t/l", session: true, lockIdx: 1}}},
		{name: "lock with an unknown session", op: func() *api.KVTxnOp {
			return &api.KVTxnOp{Verb: api.KVLock, Key: "t/l", Session: "00000000-0000-0000-0000-000000000000"}
		}, err: `invalid session "00000000-0000-0000-0000-000000000000"`},
		{name: "check-session", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCheckSession, Key: "t/l", Session: sid} }, results: []want{{key: "t/l", session: true, lockIdx: 1}}},
		{name: "unlock", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVUnlock, Key: "t/l", Session: sid} }, results: []want{{key: "t/l", lockIdx: 1}}},
		{name: "unlock not held", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVUnlock, Key: "t/l", Session: sid} }, err: `failed to unlock key "t/l", lock isn't held, or is held by another session`},
		{name: "unlock without a session", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVUnlock, Key: "t/l"} }, err: "missing session"},
		{name: "get-tree", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVGetTree, Key: "t/"} }, results: []want{{key: "t/k", value: "v2"}, {key: "t/l", lockIdx: 1}}}, // unlock wrote its (empty) value, as Consul
		{name: "check-index stale", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "t/k", Index: idx} }, err: "failed index check for key \"t/k\", current modify index"},
		{name: "check-not-exists", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "t/none"} }},
		{name: "check-not-exists fails", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "t/k"} }, err: `key "t/k" exists`},
		{name: "delete-cas stale", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVDeleteCAS, Key: "t/k", Index: idx} }, err: `failed to delete key "t/k", index is stale`},
		{name: "delete", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVDelete, Key: "t/k"} }},
		{name: "delete-tree", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVDeleteTree, Key: "t/"} }},
		{name: "get-tree empty", op: func() *api.KVTxnOp { return &api.KVTxnOp{Verb: api.KVGetTree, Key: "t/"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, resp, _, err := c.Txn().Txn(api.TxnOps{{KV: tc.op()}}, nil)
			require.NoError(t, err)
			if tc.err != "" {
				require.False(t, ok)
				require.Len(t, resp.Errors, 1)
				require.Nil(t, resp.Results)
				require.Contains(t, resp.Errors[0].What, tc.err)
				return
			}
			require.True(t, ok, "%+v", resp.Errors)
			require.Nil(t, resp.Errors)
			require.Len(t, resp.Results, len(tc.results))
			for i, w := range tc.results {
				kv := resp.Results[i].KV
				require.Equal(t, w.key, kv.Key)
				if w.value == "" {
					require.Nil(t, kv.Value)
				} else {
					require.Equal(t, w.value, string(kv.Value))
				}
				require.Equal(t, w.session, kv.Session != "", "session %q", kv.Session)
				require.Equal(t, w.lockIdx, kv.LockIndex)
				require.NotZero(t, kv.ModifyIndex)
			}
			if tc.name == "set" {
				idx = resp.Results[0].KV.ModifyIndex
			}
			if tc.name == "cas" {
				require.Greater(t, resp.Results[0].KV.ModifyIndex, idx)
			}
		})
	}
}
