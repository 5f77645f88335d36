package agent

// Consul's Go client against a 3-server cluster on loopback, with clients
// on different servers at once: what a client sees from a follower must be
// what it would see from Consul, whose servers forward default and
// ?consistent reads (and every write) to the leader and answer ?stale reads
// themselves (agent/consul/rpc.go ForwardRPC, setQueryMeta).

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// apiCluster is a running 3-server cluster and a client on each server.
type apiCluster struct {
	agents    []*Agent
	leader    *Agent
	followers []*Agent
	cl        *api.Client // on the leader
	c1, c2    *api.Client // on followers[0], followers[1]
}

// startAPICluster starts three servers and waits until each is a catalog
// node with a passing serfHealth (sessions need one).
func startAPICluster(t *testing.T) *apiCluster {
	t.Helper()
	agents := startTestCluster(t, 3)
	c := &apiCluster{agents: agents, leader: leaderOf(t, agents)}
	for _, a := range agents {
		if a != c.leader {
			c.followers = append(c.followers, a)
		}
	}
	c.cl, c.c1, c.c2 = apiClient(t, c.leader), apiClient(t, c.followers[0]), apiClient(t, c.followers[1])
	waitFor(t, 10*time.Second, func() bool {
		for _, a := range agents {
			checks, _, err := c.cl.Health().Node(a.cfg.NodeName, nil)
			if err != nil || len(checks) != 1 || checks[0].Status != api.HealthPassing {
				return false
			}
		}
		return true
	}, "three nodes with a passing serfHealth")
	return c
}

// TestAPICluster runs the client checks below on one cluster, in order
// (each uses its own keys; the last one makes a server leave).
func TestAPICluster(t *testing.T) {
	c := startAPICluster(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *apiCluster)
	}{
		{"kv through followers", clusterKVThroughFollowers},
		{"follower read headers", clusterFollowerReadHeaders},
		{"blocking across servers", clusterBlockingAcrossServers},
		{"parked watchers on every server", clusterParkedAPIClient},
		{"sessions across servers", clusterSessionsAcrossServers},
		{"lock across servers", clusterLockAcrossServers},
		{"semaphore across servers", clusterSemaphoreAcrossServers},
		{"forward refused by a non-leader", clusterForwardRefused},
		{"txn through a follower", clusterTxnThroughFollower},
		{"status and agent", clusterStatusAndAgent},
		{"lock released when the holder leaves", clusterLockReleasedWhenHolderLeaves},
	} {
		if !t.Run(tc.name, func(t *testing.T) { tc.run(t, c) }) {
			return // the cluster may be in any state
		}
	}
}

// watchesAdded counts the watch sets a's store has registered: a blocking
// query that waits adds one.
func watchesAdded(a *Agent) uint64 { return a.store.Stats().WatchesAdded }

// KV CRUD, CAS, recurse and keys with a separator through followers, each
// write read back on every server.
func clusterKVThroughFollowers(t *testing.T, c *apiCluster) {
	kv1, kv2, kvl := c.c1.KV(), c.c2.KV(), c.cl.KV()

	_, err := kv1.Put(&api.KVPair{Key: "kv/a", Value: []byte("1"), Flags: 7}, nil)
	require.NoError(t, err)
	for _, kv := range []*api.KV{kv2, kvl, kv1} {
		p, meta, err := kv.Get("kv/a", nil)
		require.NoError(t, err)
		require.NotNil(t, p, "a write through one follower is read on every server")
		require.Equal(t, "1", string(p.Value))
		require.Equal(t, uint64(7), p.Flags)
		require.Equal(t, p.ModifyIndex, meta.LastIndex)
	}

	// CAS through the other follower: the current index wins once.
	p, _, err := kv2.Get("kv/a", nil)
	require.NoError(t, err)
	ok, _, err := kv2.CAS(&api.KVPair{Key: "kv/a", Value: []byte("2"), ModifyIndex: p.ModifyIndex}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = kv1.CAS(&api.KVPair{Key: "kv/a", Value: []byte("3"), ModifyIndex: p.ModifyIndex}, nil)
	require.NoError(t, err)
	require.False(t, ok, "a stale index loses")
	ok, _, err = kv1.CAS(&api.KVPair{Key: "kv/a", Value: []byte("4")}, nil)
	require.NoError(t, err)
	require.False(t, ok, "cas=0 on an existing key")
	ok, _, err = kv1.CAS(&api.KVPair{Key: "kv/new", Value: []byte("n")}, nil)
	require.NoError(t, err)
	require.True(t, ok, "cas=0 on a missing key")
	for _, k := range []string{"kv/b/c", "kv/b/d/e", "kv/z"} {
		_, err := kv2.Put(&api.KVPair{Key: k, Value: []byte(k)}, nil)
		require.NoError(t, err)
	}

	pairs, meta, err := kv1.List("kv/", nil)
	require.NoError(t, err)
	var names []string
	var maxIdx uint64
	for _, p := range pairs {
		names = append(names, p.Key)
		maxIdx = max(maxIdx, p.ModifyIndex)
	}
	require.Equal(t, []string{"kv/a", "kv/b/c", "kv/b/d/e", "kv/new", "kv/z"}, names)
	require.Equal(t, "2", string(pairs[0].Value))
	require.Equal(t, maxIdx, meta.LastIndex, "a recurse read's index is its newest entry's")
	keys, _, err := kv2.Keys("kv/", "/", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"kv/a", "kv/b/", "kv/new", "kv/z"}, keys)
	keys, _, err = kvl.Keys("kv/b/", "", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"kv/b/c", "kv/b/d/e"}, keys)

	p, _, err = kv1.Get("kv/z", nil)
	require.NoError(t, err)
	ok, _, err = kv2.DeleteCAS(&api.KVPair{Key: "kv/z", ModifyIndex: p.ModifyIndex - 1}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	ok, _, err = kv2.DeleteCAS(&api.KVPair{Key: "kv/z", ModifyIndex: p.ModifyIndex}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = kv1.DeleteTree("kv/b/", nil)
	require.NoError(t, err)
	pairs, _, err = kv2.List("kv/b/", nil)
	require.NoError(t, err)
	require.Empty(t, pairs)
	keys, meta, err = kv2.Keys("kv/b/", "", nil)
	require.NoError(t, err)
	require.Nil(t, keys, "a missing prefix is a 404")
	require.GreaterOrEqual(t, meta.LastIndex, p.ModifyIndex, "the 404 still carries the index")
	p, meta, err = kv1.Get("kv/z", nil)
	require.NoError(t, err)
	require.Nil(t, p)
	require.Positive(t, meta.LastIndex)

	// Read-your-writes across servers in the default mode: a read on any
	// server after a write through another sees it, and the index a client
	// carries from server to server never goes backwards.
	var last uint64
	for i := range 6 {
		w, r := c.agents[i%3], c.agents[(i+1)%3]
		val := strconv.Itoa(i)
		_, err := apiClient(t, w).KV().Put(&api.KVPair{Key: "kv/hop", Value: []byte(val)}, nil)
		require.NoError(t, err)
		p, meta, err := apiClient(t, r).KV().Get("kv/hop", nil)
		require.NoError(t, err)
		require.Equal(t, val, string(p.Value), "write on %s, read on %s", w.cfg.NodeName, r.cfg.NodeName)
		require.Greater(t, meta.LastIndex, last)
		last = meta.LastIndex
	}
}

// Blocking List and Keys on followers, in the default and stale modes,
// are woken by writes through another server, deletes included (the
// prefix's index covers its tombstones); a blocking Get that hops from
// server to server with the index it was given always moves forward.
func clusterBlockingAcrossServers(t *testing.T, c *apiCluster) {
	_, err := c.cl.KV().Put(&api.KVPair{Key: "b/x", Value: []byte("0")}, nil)
	require.NoError(t, err)
	type watcher struct {
		a    *Agent
		opts api.QueryOptions
		keys bool // Keys instead of List
		idx  uint64
	}
	var ws []*watcher
	for _, f := range c.followers {
		for _, o := range []api.QueryOptions{{}, {AllowStale: true}} {
			for _, keys := range []bool{false, true} {
				ws = append(ws, &watcher{a: f, opts: o, keys: keys})
			}
		}
	}
	read := func(w *watcher, o *api.QueryOptions) ([]string, *api.QueryMeta, error) {
		kv := apiClient(t, w.a).KV()
		if w.keys {
			return kv.Keys("b/", "", o)
		}
		pairs, meta, err := kv.List("b/", o)
		var out []string
		for _, p := range pairs {
			out = append(out, p.Key+"="+string(p.Value))
		}
		return out, meta, err
	}
	for _, w := range ws {
		waitFor(t, 5*time.Second, func() bool {
			got, meta, err := read(w, &w.opts)
			w.idx = meta.LastIndex
			return err == nil && len(got) == 1
		}, "the first key on every follower")
	}
	steps := []struct {
		name  string
		write func() error
		want  []string // List's; Keys' are the names
	}{
		{"put through the other follower", func() error {
			_, err := c.c2.KV().Put(&api.KVPair{Key: "b/y", Value: []byte("1")}, nil)
			return err
		}, []string{"b/x=0", "b/y=1"}},
		{"delete through the leader", func() error {
			_, err := c.cl.KV().Delete("b/x", nil)
			return err
		}, []string{"b/y=1"}},
	}
	for _, st := range steps {
		added := func() (n uint64) {
			for _, f := range c.followers {
				n += watchesAdded(f)
			}
			return n
		}
		before := added()
		errs := make(chan error, len(ws))
		for i, w := range ws {
			go func() {
				o := w.opts
				o.WaitIndex, o.WaitTime = w.idx, 10*time.Second
				got, meta, err := read(w, &o)
				want := st.want
				if w.keys {
					want = nil
					for _, kv := range st.want {
						want = append(want, kv[:3])
					}
				}
				switch {
				case err != nil:
					errs <- err
				case !slices.Equal(got, want):
					errs <- fmt.Errorf("watcher %d (%s %+v keys=%v): got %v, want %v", i, w.a.cfg.NodeName, w.opts, w.keys, got, want)
				case meta.LastIndex <= w.idx || !meta.KnownLeader:
					errs <- fmt.Errorf("watcher %d: index %d after %d, known leader %v", i, meta.LastIndex, w.idx, meta.KnownLeader)
				default:
					w.idx = meta.LastIndex
					errs <- nil
				}
			}()
		}
		waitFor(t, 10*time.Second, func() bool { return added() >= before+uint64(len(ws)) }, "every watcher blocked")
		require.NoError(t, st.write(), st.name)
		for range ws {
			require.NoError(t, <-errs, st.name)
		}
	}

	// Hop: the index from one server is the wait index on the next; a
	// write through the third wakes it.
	_, meta, err := c.cl.KV().Get("b/y", nil)
	require.NoError(t, err)
	idx := meta.LastIndex
	for i := range 3 {
		r, w := c.agents[i], c.agents[(i+1)%3]
		for _, o := range []api.QueryOptions{{}, {AllowStale: true}} {
			before := watchesAdded(r)
			done := make(chan error, 1)
			go func() {
				o.WaitIndex, o.WaitTime = idx, 10*time.Second
				p, meta, err := apiClient(t, r).KV().Get("b/y", &o)
				switch {
				case err != nil:
					done <- err
				case p == nil || meta.LastIndex <= idx:
					done <- fmt.Errorf("on %s %+v: %+v at index %d after %d", r.cfg.NodeName, o, p, meta.LastIndex, idx)
				default:
					idx = meta.LastIndex
					done <- nil
				}
			}()
			waitFor(t, 10*time.Second, func() bool { return watchesAdded(r) > before }, "the hop blocked")
			_, err := apiClient(t, w).KV().Put(&api.KVPair{Key: "b/y", Value: []byte(strconv.Itoa(i))}, nil)
			require.NoError(t, err)
			require.NoError(t, <-done)
		}
	}
}

// Transactions through a follower: applied ones carry one index in every
// result; a failed precondition rolls everything back (409, errors only).
func clusterTxnThroughFollower(t *testing.T, c *apiCluster) {
	ok, resp, _, err := c.c1.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/a", Value: []byte("1")}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/b", Value: []byte("2"), Flags: 3}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "t/a"}},
	}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, resp.Errors)
	require.Len(t, resp.Results, 3)
	idx := resp.Results[0].KV.ModifyIndex
	require.Positive(t, idx)
	for i, r := range resp.Results {
		require.Equal(t, idx, r.KV.ModifyIndex, "result %d", i)
		require.Equal(t, idx, r.KV.CreateIndex, "result %d", i)
	}
	require.Nil(t, resp.Results[0].KV.Value, "a set's result has no value")
	require.Equal(t, "1", string(resp.Results[2].KV.Value))
	require.Equal(t, uint64(3), resp.Results[1].KV.Flags)
	p, _, err := c.cl.KV().Get("t/b", nil)
	require.NoError(t, err)
	require.Equal(t, idx, p.ModifyIndex, "the leader holds the txn's index")

	// Rolled back through the other follower: nothing of it is applied.
	ok, resp, _, err = c.c2.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/c", Value: []byte("x")}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "t/a", Value: []byte("y"), Index: idx - 1}},
	}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.Nil(t, resp.Results)
	require.Len(t, resp.Errors, 1)
	require.Equal(t, 1, resp.Errors[0].OpIndex)
	require.NotEmpty(t, resp.Errors[0].What)
	p, _, err = c.cl.KV().Get("t/c", nil)
	require.NoError(t, err)
	require.Nil(t, p, "a rolled-back set")
	p, _, err = c.c1.KV().Get("t/a", nil)
	require.NoError(t, err)
	require.Equal(t, "1", string(p.Value))

	// A read-only txn through a follower fails the same way.
	ok, resp, _, err = c.c2.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "t/a", Index: idx + 1}},
	}, &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.False(t, ok)
	require.Len(t, resp.Errors, 1)
	require.Equal(t, 0, resp.Errors[0].OpIndex)
}

// Every server names the same leader and peers, and describes itself and
// the pool as the client reads them.
func clusterStatusAndAgent(t *testing.T, c *apiCluster) {
	var peers0 []string
	for _, a := range c.agents {
		cl := apiClient(t, a)
		lead, err := cl.Status().Leader()
		require.NoError(t, err)
		require.Equal(t, c.leader.raftAddr, lead, "on %s", a.cfg.NodeName)
		peers, err := cl.Status().Peers()
		require.NoError(t, err)
		require.Len(t, peers, 3)
		require.Contains(t, peers, lead)
		slices.Sort(peers)
		if peers0 == nil {
			peers0 = peers
		}
		require.Equal(t, peers0, peers, "on %s", a.cfg.NodeName)

		rc, err := cl.Operator().RaftGetConfiguration(nil)
		require.NoError(t, err)
		require.Len(t, rc.Servers, 3)
		for _, s := range rc.Servers {
			require.Equal(t, s.Address == lead, s.Leader, "%+v", s)
			require.True(t, s.Voter)
		}

		self, err := cl.Agent().Self()
		require.NoError(t, err)
		require.Equal(t, a.cfg.NodeName, self["Config"]["NodeName"])
		require.Equal(t, a.cfg.Datacenter, self["Config"]["Datacenter"])
		require.Equal(t, true, self["Config"]["Server"])
		name, err := cl.Agent().NodeName()
		require.NoError(t, err)
		require.Equal(t, a.cfg.NodeName, name)
		require.Equal(t, a.cfg.NodeName, self["Member"]["Name"])
		require.Equal(t, "127.0.0.1", self["Member"]["Addr"])
		require.EqualValues(t, a.cfg.Ports.SerfLAN, self["Member"]["Port"])
		stats, _ := self["Stats"]["consul"].(map[string]any)
		require.Equal(t, strconv.FormatBool(a == c.leader), stats["leader"], "Stats.consul.leader on %s", a.cfg.NodeName)
		require.Equal(t, lead, stats["leader_addr"])

		wan, err := cl.Agent().Members(true)
		require.NoError(t, err)
		require.Len(t, wan, 3, "every server is in the WAN pool")
		for _, m := range wan {
			require.True(t, strings.HasSuffix(m.Name, "."+a.cfg.Datacenter), "WAN name %s is node.dc", m.Name)
		}

		members, err := cl.Agent().Members(false)
		require.NoError(t, err)
		require.Len(t, members, 3)
		for _, m := range members {
			var of *Agent
			for _, b := range c.agents {
				if b.cfg.NodeName == m.Name {
					of = b
				}
			}
			require.NotNil(t, of, "member %s", m.Name)
			require.Equal(t, 1, m.Status, "alive")
			require.Equal(t, "127.0.0.1", m.Addr)
			require.EqualValues(t, of.cfg.Ports.SerfLAN, m.Port)
			require.Equal(t, "consul", m.Tags["role"])
			require.Equal(t, strconv.Itoa(of.cfg.Ports.Server), m.Tags["port"])
			require.Equal(t, of.cfg.Datacenter, m.Tags["dc"])
			require.Equal(t, of.nodeID, m.Tags["id"])
			if m.Name == a.cfg.NodeName {
				tags, _ := self["Member"]["Tags"].(map[string]any)
				for k, v := range m.Tags {
					require.Equal(t, v, tags[k], "agent/self Member.Tags[%s] as in members", k)
				}
			}
		}
	}
}

// A write a follower forwards to a server that no longer leads (its view
// lags a leadership change) is refused unapplied there, and forwarded
// again to the leader: the client sees one success, as Consul's
// ForwardRPC retries "No cluster leader". Here the follower's first
// forward is sent to the other follower.
func clusterForwardRefused(t *testing.T, c *apiCluster) {
	f, other := c.followers[0], c.followers[1]
	orig := f.srv.forward
	var redirected atomic.Int32
	f.srv.forward = func(ctx context.Context, addr string, cmd []byte) (any, uint64, error) {
		if redirected.Add(1) == 1 {
			addr = other.raftAddr
		}
		return orig(ctx, addr, cmd)
	}
	defer func() { f.srv.forward = orig }()
	_, err := c.c1.KV().Put(&api.KVPair{Key: "fwd/k", Value: []byte("v")}, nil)
	require.NoError(t, err)
	require.Equal(t, int32(2), redirected.Load(), "one refused forward, one to the leader")
	p, _, err := c.cl.KV().Get("fwd/k", nil)
	require.NoError(t, err)
	require.Equal(t, "v", string(p.Value))
}
