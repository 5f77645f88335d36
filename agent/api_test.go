package agent

// Integration tests with the official Go client (test-only dependency)
// against a real in-process dev agent.

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

func apiClient(t testing.TB, a *Agent) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = a.HTTPAddr()
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func TestAPIKVCRUD(t *testing.T) {
	a := startAgent(t)
	kv := apiClient(t, a).KV()

	p, _, err := kv.Get("missing", nil)
	require.NoError(t, err)
	require.Nil(t, p)

	_, err = kv.Put(&api.KVPair{Key: "app/config", Value: []byte("v1"), Flags: 42}, nil)
	require.NoError(t, err)
	p, meta, err := kv.Get("app/config", nil)
	require.NoError(t, err)
	require.Equal(t, "v1", string(p.Value))
	require.Equal(t, uint64(42), p.Flags)
	require.Equal(t, p.ModifyIndex, meta.LastIndex)
	require.True(t, meta.KnownLeader)
	created := p.CreateIndex

	_, err = kv.Put(&api.KVPair{Key: "app/config", Value: []byte("v2")}, nil)
	require.NoError(t, err)
	p, _, err = kv.Get("app/config", nil)
	require.NoError(t, err)
	require.Equal(t, "v2", string(p.Value))
	require.Equal(t, created, p.CreateIndex)
	require.Greater(t, p.ModifyIndex, created)

	// Keys with odd characters are kept verbatim. Unclean paths ("a//b",
	// "x/../y") are redirected as Consul's (TestHTTPPathCanonical).
	for _, k := range []string{"with space", "q?x=1", "emoji/✓", "trailing/", "pct%2Fx", "hash#x", "amp&x=y", "plus+x"} {
		_, err = kv.Put(&api.KVPair{Key: k, Value: []byte(k)}, nil)
		require.NoError(t, err, k)
		p, _, err = kv.Get(k, nil)
		require.NoError(t, err, k)
		require.NotNil(t, p, k)
		require.Equal(t, k, p.Key)
		require.Equal(t, k, string(p.Value))
	}

	_, err = kv.Delete("app/config", nil)
	require.NoError(t, err)
	p, _, err = kv.Get("app/config", nil)
	require.NoError(t, err)
	require.Nil(t, p)
}

func TestAPIKVListKeys(t *testing.T) {
	a := startAgent(t)
	kv := apiClient(t, a).KV()
	for _, k := range []string{"dir/a", "dir/b", "dir/sub/c", "dir/sub/d", "other"} {
		_, err := kv.Put(&api.KVPair{Key: k, Value: []byte(k)}, nil)
		require.NoError(t, err)
	}
	ps, meta, err := kv.List("dir/", nil)
	require.NoError(t, err)
	require.Len(t, ps, 4)
	var maxIdx uint64
	for _, p := range ps {
		maxIdx = max(maxIdx, p.ModifyIndex)
	}
	require.Equal(t, maxIdx, meta.LastIndex)

	keys, _, err := kv.Keys("dir/", "/", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"dir/a", "dir/b", "dir/sub/"}, keys)
	keys, _, err = kv.Keys("", "/", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"dir/", "other"}, keys)
	keys, _, err = kv.Keys("dir/", "", nil)
	require.NoError(t, err)
	require.Len(t, keys, 4)

	ps, _, err = kv.List("nothing/", nil)
	require.NoError(t, err)
	require.Empty(t, ps)

	_, err = kv.DeleteTree("dir/", nil)
	require.NoError(t, err)
	ps, _, err = kv.List("dir/", nil)
	require.NoError(t, err)
	require.Empty(t, ps)
	p, _, err := kv.Get("other", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
}

func TestAPIKVCAS(t *testing.T) {
	a := startAgent(t)
	kv := apiClient(t, a).KV()

	ok, _, err := kv.CAS(&api.KVPair{Key: "k", Value: []byte("1"), ModifyIndex: 0}, nil)
	require.NoError(t, err)
	require.True(t, ok, "cas=0 creates an absent key")
	ok, _, err = kv.CAS(&api.KVPair{Key: "k", Value: []byte("2"), ModifyIndex: 0}, nil)
	require.NoError(t, err)
	require.False(t, ok, "cas=0 on an existing key fails")

	p, _, err := kv.Get("k", nil)
	require.NoError(t, err)
	ok, _, err = kv.CAS(&api.KVPair{Key: "k", Value: []byte("3"), ModifyIndex: p.ModifyIndex + 1}, nil)
	require.NoError(t, err)
	require.False(t, ok, "wrong index")
	ok, _, err = kv.CAS(&api.KVPair{Key: "k", Value: []byte("3"), ModifyIndex: p.ModifyIndex}, nil)
	require.NoError(t, err)
	require.True(t, ok)

	p, _, err = kv.Get("k", nil)
	require.NoError(t, err)
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "k", ModifyIndex: p.ModifyIndex - 1}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "k", ModifyIndex: p.ModifyIndex}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	p, _, err = kv.Get("k", nil)
	require.NoError(t, err)
	require.Nil(t, p)
}

func TestAPIBlockingGetAndList(t *testing.T) {
	a := startAgent(t)
	kv := apiClient(t, a).KV()
	_, err := kv.Put(&api.KVPair{Key: "w/x", Value: []byte("0")}, nil)
	require.NoError(t, err)
	p, meta, err := kv.Get("w/x", nil)
	require.NoError(t, err)

	// Nothing changes: the query returns after the wait with the same index.
	start := time.Now()
	_, meta2, err := kv.Get("w/x", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 200 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, meta.LastIndex, meta2.LastIndex)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Less(t, time.Since(start), 200*time.Millisecond+200*time.Millisecond/16+time.Second)

	// A write elsewhere does not wake it; a write to the key does.
	got := make(chan *api.KVPair, 1)
	go func() {
		p, _, err := kv.Get("w/x", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		if err != nil {
			p = nil
		}
		got <- p
	}()
	gotList := make(chan []string, 1)
	go func() {
		ps, _, err := kv.List("w/", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		var ks []string
		for _, p := range ps {
			if err == nil {
				ks = append(ks, p.Key+"="+string(p.Value))
			}
		}
		gotList <- ks
	}()
	_, err = kv.Put(&api.KVPair{Key: "elsewhere", Value: []byte("x")}, nil)
	require.NoError(t, err)
	_, err = kv.Put(&api.KVPair{Key: "w/x", Value: []byte("1")}, nil)
	require.NoError(t, err)
	select {
	case p2 := <-got:
		require.NotNil(t, p2)
		require.Equal(t, "1", string(p2.Value))
		require.Greater(t, p2.ModifyIndex, p.ModifyIndex)
	case <-time.After(5 * time.Second):
		t.Fatal("blocking Get did not return after the write")
	}
	select {
	case ks := <-gotList:
		require.Equal(t, []string{"w/x=1"}, ks)
	case <-time.After(5 * time.Second):
		t.Fatal("blocking List did not return after the write")
	}

	// A delete under the prefix wakes a blocked List (tombstone index).
	_, meta, err = kv.List("w/", nil)
	require.NoError(t, err)
	listDone := make(chan uint64, 1)
	go func() {
		_, m, err := kv.List("w/", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		if err != nil {
			listDone <- 0
			return
		}
		listDone <- m.LastIndex
	}()
	_, err = kv.Delete("w/x", nil)
	require.NoError(t, err)
	select {
	case idx := <-listDone:
		require.Greater(t, idx, meta.LastIndex)
	case <-time.After(5 * time.Second):
		t.Fatal("blocking List did not return after a delete")
	}

	// A missing key blocks too, and then 404s with an index.
	_, meta, err = kv.Get("w/new", nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, meta.LastIndex, uint64(1))
	newDone := make(chan *api.KVPair, 1)
	go func() {
		p, _, _ := kv.Get("w/new", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		newDone <- p
	}()
	_, err = kv.Put(&api.KVPair{Key: "w/new", Value: []byte("n")}, nil)
	require.NoError(t, err)
	select {
	case p := <-newDone:
		require.NotNil(t, p)
		require.Equal(t, "n", string(p.Value))
	case <-time.After(5 * time.Second):
		t.Fatal("blocking Get on a missing key did not return after its creation")
	}
}

func TestAPIConsistencyModes(t *testing.T) {
	a := startAgent(t)
	kv := apiClient(t, a).KV()
	_, err := kv.Put(&api.KVPair{Key: "c", Value: []byte("1")}, nil)
	require.NoError(t, err)
	for _, o := range []*api.QueryOptions{{}, {AllowStale: true}, {RequireConsistent: true}} {
		p, meta, err := kv.Get("c", o)
		require.NoError(t, err)
		require.Equal(t, "1", string(p.Value))
		require.True(t, meta.KnownLeader)
		require.Zero(t, meta.LastContact)
	}
	_, _, err = kv.Get("c", &api.QueryOptions{AllowStale: true, RequireConsistent: true})
	require.ErrorContains(t, err, "400")
}
