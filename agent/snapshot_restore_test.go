package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/store"
)

// largeSnapshot returns a store snapshot holding about size bytes of KV
// values (keys big/NNNN, distinct values), far more than one Raft entry.
func largeSnapshot(t *testing.T, size int) []byte {
	t.Helper()
	s := store.New()
	now := time.Now()
	val := make([]byte, 256<<10)
	for i := 0; i*len(val) < size; i++ {
		for j := range val {
			val[j] = byte(i + j)
		}
		r := s.Apply(uint64(i+1), store.EncodeCommand(now, &store.KVOp{Verb: store.KVSet, Key: fmt.Sprintf("big/%04d", i), Value: val}))
		require.NoError(t, r.Err)
	}
	var buf bytes.Buffer
	_, err := s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// kvDigest hashes every key, flag and value under prefix on a's store.
func kvDigest(a *Agent, prefix string) (int, [32]byte) {
	_, es := a.store.KVList(nil, prefix)
	h := sha256.New()
	for _, e := range es {
		fmt.Fprintf(h, "%q %d %d\n", e.Key, e.Flags, len(e.Value))
		h.Write(e.Value)
	}
	return len(es), [32]byte(h.Sum(nil))
}

func putSnapshot(t *testing.T, a *Agent, data []byte) {
	t.Helper()
	code, _, body := do(t, http.MethodPut, a.url("/v1/snapshot"), bytes.NewReader(data))
	require.Equal(t, 200, code, body)
}

// A 20 MB snapshot restored through a follower of three servers: every
// server ends with the same state at the same applied index, indexes move
// forward past everything seen before, and a blocked query returns.
func TestSnapshotRestoreLargeCluster(t *testing.T) {
	data := largeSnapshot(t, 20<<20)
	require.Greater(t, len(data), 20<<20)
	src := store.New()
	require.NoError(t, src.Restore(bytes.NewReader(data)))

	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var follower *Agent
	for _, a := range agents {
		if a != leader {
			follower = a
		}
	}
	kv := apiClient(t, follower).KV()
	_, err := kv.Put(&api.KVPair{Key: "old", Value: []byte("x")}, nil)
	require.NoError(t, err)
	_, meta, err := kv.Get("old", nil)
	require.NoError(t, err)
	before := meta.LastIndex

	type got struct {
		p   *api.KVPair
		idx uint64
		err error
	}
	blocked := make(chan got, 1)
	go func() {
		p, m, err := kv.Get("old", &api.QueryOptions{WaitIndex: before, WaitTime: time.Minute})
		if m == nil {
			m = &api.QueryMeta{}
		}
		blocked <- got{p, m.LastIndex, err}
	}()

	putSnapshot(t, follower, data)

	select {
	case g := <-blocked:
		require.NoError(t, g.err)
		require.Nil(t, g.p, "the restore removed the key")
		require.Greater(t, g.idx, before)
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked query did not return after the restore")
	}
	n, want := kvDigest(&Agent{store: src}, "big/")
	waitFor(t, 30*time.Second, func() bool {
		for _, a := range agents {
			if m, d := kvDigest(a, "big/"); m != n || d != want {
				return false
			}
		}
		return true
	}, "every server holding the restored keys")
	// Identical everywhere once at the same applied index.
	waitFor(t, 10*time.Second, func() bool {
		idx := agents[0].store.AppliedIndex()
		for _, a := range agents[1:] {
			if a.store.AppliedIndex() != idx {
				return false
			}
		}
		h := agents[0].store.Hash()
		return h == agents[1].store.Hash() && h == agents[2].store.Hash()
	}, "equal state hashes")
	p, meta, err := kv.Get("big/0003", nil)
	require.NoError(t, err)
	require.Greater(t, p.ModifyIndex, before, "indexes move forward")
	require.Greater(t, meta.LastIndex, before)
	// No stage is left behind: a snapshot of the state is about the
	// restored size, not twice it.
	var buf bytes.Buffer
	_, err = leader.store.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	require.Less(t, buf.Len(), len(data)+64<<10)
}

// The restored state survives a full restart of a disk server; a damaged
// upload is a 400 that changes nothing.
func TestSnapshotRestoreLargeSurvivesRestart(t *testing.T) {
	data := largeSnapshot(t, 8<<20)
	src := store.New()
	require.NoError(t, src.Restore(bytes.NewReader(data)))
	n, want := kvDigest(&Agent{store: src}, "big/")

	cfg := testConfig()
	cfg.DevMode = false
	// A -bootstrap server runs gossip and the server RPC: free ports.
	cfg.Ports.SerfLAN, cfg.Ports.Server = freePort(t), freePort(t)
	cfg.DataDir = t.TempDir()
	start := func() *Agent {
		a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, a.srv.waitReadyLeader(ctx))
		return a
	}
	a := start()
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	code, _, body := do(t, http.MethodPut, a.url("/v1/snapshot"), bytes.NewReader(bad))
	require.Equal(t, 400, code, body)
	require.Contains(t, body, "checksum")

	putSnapshot(t, a, data)
	m, d := kvDigest(a, "big/")
	require.Equal(t, n, m)
	require.Equal(t, want, d)
	require.NoError(t, a.Shutdown(context.Background()))

	a = start()
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	m, d = kvDigest(a, "big/")
	require.Equal(t, n, m)
	require.Equal(t, want, d)
}
