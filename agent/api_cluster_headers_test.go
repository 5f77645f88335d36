package agent

// Consul's read headers (X-Consul-KnownLeader, X-Consul-LastContact,
// X-Consul-Effective-Consistency, X-Consul-Index) as a follower of the
// cluster sends them in each consistency mode (TestAPICluster runs this).

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// Consul's read headers from a follower: default and ?consistent reads
// are answered by the leader (LastContact 0, KnownLeader true); ?stale is
// answered by the follower itself, with its own time since it heard from
// the leader.
func clusterFollowerReadHeaders(t *testing.T, c *apiCluster) {
	_, err := c.cl.KV().Put(&api.KVPair{Key: "h/k", Value: []byte("v")}, nil)
	require.NoError(t, err)
	p, _, err := c.cl.KV().Get("h/k", nil)
	require.NoError(t, err)
	f := c.followers[0]
	// A follower's contact figure is whole ticks, 0 most of the time: to
	// see whether a read leaks it, it is set to an hour here (as if the
	// leader had gone quiet) until trackContact rewrites it, within
	// contactPoll. The stale reads around the others show it was live.
	const hour = "3600000"
	for seen, tries := 0, 0; seen < 3; tries++ {
		require.Less(t, tries, 100, "the contact figure never stayed long enough")
		f.srv.contact.Store(int64(time.Hour))
		if _, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k?stale"), nil); h.Get("X-Consul-LastContact") != hour {
			continue
		}
		for _, q := range []string{"", "?consistent", "?index=1", "?consistent&index=1"} {
			_, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k"+q), nil)
			require.Equal(t, "0", h.Get("X-Consul-LastContact"), "%q: the leader answers it", q)
		}
		_, _, meta, err := c.c1.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "h/k"}}}, nil)
		require.NoError(t, err)
		require.Zero(t, meta.LastContact, "a read-only txn")
		if _, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k?stale"), nil); h.Get("X-Consul-LastContact") == hour {
			seen++
		}
	}
	// ?max_stale bounds the catalog and health reads: a follower that last
	// heard from the leader longer ago re-runs them as default reads; KV
	// keeps its stale answer (Consul's handlers alike).
	for seen, tries := 0, 0; seen < 2; tries++ {
		require.Less(t, tries, 100, "the contact figure never stayed long enough")
		f.srv.contact.Store(int64(time.Hour))
		if _, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k?stale"), nil); h.Get("X-Consul-LastContact") != hour {
			continue
		}
		cases := []struct{ path, consistency, contact string }{
			{"/v1/catalog/nodes?max_stale=1s", "leader", "0"},
			{"/v1/health/node/" + f.cfg.NodeName + "?max_stale=1s", "leader", "0"},
			{"/v1/catalog/nodes?max_stale=2h", "stale", hour},
			{"/v1/kv/h/k?max_stale=1s", "stale", hour},
		}
		got := make([]http.Header, len(cases))
		for i, tc := range cases {
			_, got[i], _ = do(t, http.MethodGet, f.url(tc.path), nil)
		}
		if _, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k?stale"), nil); h.Get("X-Consul-LastContact") != hour {
			continue // rewritten meanwhile: the answers above may predate it
		}
		seen++
		for i, tc := range cases {
			require.Equal(t, tc.consistency, got[i].Get("X-Consul-Effective-Consistency"), tc.path)
			require.Equal(t, tc.contact, got[i].Get("X-Consul-LastContact"), tc.path)
		}
	}
	// A follower that has not heard from a leader yet (just started)
	// has a stale read answered as the leader would (Consul forwards it).
	for seen, tries := 0, 0; seen < 3; tries++ {
		require.Less(t, tries, 100, "the heard flag never stayed unset long enough")
		f.srv.heard.Store(false)
		f.srv.contact.Store(int64(time.Hour))
		_, h, _ := do(t, http.MethodGet, f.url("/v1/kv/h/k?stale"), nil)
		self, err := c.c1.Agent().Self()
		require.NoError(t, err)
		if f.srv.heard.Load() {
			continue // trackContact ran meanwhile
		}
		seen++
		raftStats, _ := self["Stats"]["raft"].(map[string]any)
		require.Equal(t, "never", raftStats["last_contact"], "hashicorp/raft's Stats before any contact")
		require.Equal(t, "0", h.Get("X-Consul-LastContact"))
		require.Equal(t, "true", h.Get("X-Consul-KnownLeader"))
		require.Equal(t, "stale", h.Get("X-Consul-Effective-Consistency"))
	}
	// Every mode's headers, on hits, misses, lists and another endpoint.
	for _, tc := range []struct {
		query, consistency string
		local              bool // answered from the follower's own state
	}{
		{"", "leader", false},
		{"?consistent", "consistent", false},
		{"?stale", "stale", true},
	} {
		for _, path := range []string{"/v1/kv/h/k", "/v1/kv/h/missing", "/v1/kv/h/?recurse", "/v1/session/list"} {
			url := f.url(path + tc.query)
			if tc.query != "" && strings.Contains(path, "?") {
				url = f.url(path + "&" + tc.query[1:])
			}
			code, h, body := do(t, http.MethodGet, url, nil)
			require.Contains(t, []int{200, 404}, code, body)
			require.Equal(t, "true", h.Get("X-Consul-KnownLeader"), url)
			require.Equal(t, tc.consistency, h.Get("X-Consul-Effective-Consistency"), url)
			lc, err := strconv.Atoi(h.Get("X-Consul-LastContact"))
			require.NoError(t, err, url)
			if tc.local {
				require.Less(t, lc, 1000, url)
			} else {
				require.Zero(t, lc, "%s: the leader answers a %s read", url, tc.consistency)
			}
			idx, err := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
			require.NoError(t, err, url)
			if strings.HasPrefix(path, "/v1/kv/") {
				require.GreaterOrEqual(t, idx, p.ModifyIndex, url)
			}
		}
	}
	// The leader's own stale answer: contact 0.
	_, meta, err := c.cl.KV().Get("h/k", &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.Zero(t, meta.LastContact)
	require.True(t, meta.KnownLeader)
	// A read-only txn reports staleness the same way (and no index).
	for _, q := range []*api.QueryOptions{nil, {RequireConsistent: true}} {
		ok, _, meta, err := c.c1.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "h/k"}}}, q)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, meta.KnownLeader)
		require.Zero(t, meta.LastContact)
	}
}
