package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"

	"github.com/agentd/agentd/raft"
)

// Test ports come from below the kernel's ephemeral range (32768-60999
// here), so that an outgoing connection cannot take one between freePort
// and the agent's listen; each test process starts at its own offset and
// walks up, so that two of them rarely probe the same ports.
const testPortLow, testPortHigh = 12000, 24000

var nextTestPort atomic.Int64

func init() {
	nextTestPort.Store(int64(os.Getpid()*7919) % (testPortHigh - testPortLow))
}

// freePort returns a port that was free for TCP and UDP a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := testPortLow + int(nextTestPort.Add(1)%(testPortHigh-testPortLow))
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// startCluster starts n servers with -bootstrap-expect n on loopback.
func startTestCluster(t *testing.T, n int) []*Agent {
	t.Helper()
	return startTestClusterWith(t, n, nil)
}

// startTestClusterWith is startTestCluster with mod applied to every
// server's configuration (nil: none).
func startTestClusterWith(t *testing.T, n int, mod func(*config.Config)) []*Agent {
	t.Helper()
	serf := make([]int, n)
	for i := range serf {
		serf[i] = freePort(t)
	}
	agents := make([]*Agent, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cfg := testConfig()
		cfg.DevMode = false
		cfg.NodeName = fmt.Sprintf("s%d", i+1)
		cfg.DataDir = t.TempDir()
		cfg.BindAddr = "127.0.0.1"
		cfg.BootstrapExpect = n
		cfg.Ports.SerfLAN = serf[i]
		cfg.Ports.Server = freePort(t)
		for j := range n {
			if j != i {
				cfg.RetryJoin = append(cfg.RetryJoin, fmt.Sprintf("127.0.0.1:%d", serf[j]))
			}
		}
		if mod != nil {
			mod(&cfg)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if testing.Verbose() {
				log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("agent", cfg.NodeName)
			}
			agents[i], errs[i] = New(cfg, log)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "server %d", i+1)
	}
	t.Cleanup(func() {
		for _, a := range agents {
			a.Shutdown(context.Background())
		}
	})
	return agents
}

// followerOf returns an agent of agents other than lead.
func followerOf(agents []*Agent, lead *Agent) *Agent {
	for _, a := range agents {
		if a != lead {
			return a
		}
	}
	panic("followerOf: no agent but the leader")
}

func leaderOf(t *testing.T, agents []*Agent) *Agent {
	t.Helper()
	var l *Agent
	waitFor(t, 15*time.Second, func() bool {
		for _, a := range agents {
			if _, ready, _ := a.srv.state(); ready {
				l = a
				return true
			}
		}
		return false
	}, "a ready leader")
	return l
}

func TestClusterBootstrapExpect(t *testing.T) {
	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var followers []*Agent
	for _, a := range agents {
		if a != leader {
			followers = append(followers, a)
		}
	}

	// Writes through a follower are forwarded; reads on another follower
	// see them (default mode reads through ReadIndex).
	c1, c2 := apiClient(t, followers[0]), apiClient(t, followers[1])
	_, err := c1.KV().Put(&api.KVPair{Key: "cluster/k", Value: []byte("v")}, nil)
	require.NoError(t, err)
	p, meta, err := c2.KV().Get("cluster/k", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
	require.Equal(t, "v", string(p.Value))
	require.True(t, meta.KnownLeader)
	p, _, err = c2.KV().Get("cluster/k", &api.QueryOptions{RequireConsistent: true})
	require.NoError(t, err)
	require.Equal(t, "v", string(p.Value))

	// A follower's stale read says how long ago it heard from the leader:
	// recently (heartbeats every tick) once its first poll saw the leader.
	waitFor(t, 5*time.Second, func() bool { return followers[1].srv.lastContact() < 500*time.Millisecond }, "contact tracking")
	_, meta, err = c2.KV().Get("cluster/k", &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.True(t, meta.KnownLeader)
	require.Less(t, meta.LastContact, time.Second)
	_, meta, err = apiClient(t, leader).KV().Get("cluster/k", &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.Zero(t, meta.LastContact, "the leader's own contact is 0")

	// Raft has three voters; gossip three alive servers; the catalog
	// three nodes with a passing serfHealth.
	cfg, err := c1.Operator().RaftGetConfiguration(nil)
	require.NoError(t, err)
	require.Len(t, cfg.Servers, 3)
	for _, s := range cfg.Servers {
		require.Regexp(t, `^s[123]$`, s.Node, "servers are named by their node names")
	}
	members, err := c1.Agent().Members(false)
	require.NoError(t, err)
	require.Len(t, members, 3)
	for _, m := range members {
		require.Equal(t, "consul", m.Tags["role"])
		require.Equal(t, "3", m.Tags["expect"])
		require.Equal(t, 1, m.Status)
	}
	waitFor(t, 10*time.Second, func() bool {
		nodes, _, err := c2.Catalog().Nodes(nil)
		return err == nil && len(nodes) == 3
	}, "three catalog nodes")

	// Sessions through a follower: create, renew (leader timers), lock.
	id, _, err := c1.Session().Create(&api.SessionEntry{Node: followers[0].cfg.NodeName, TTL: "10s"}, nil)
	require.NoError(t, err)
	e, _, err := c1.Session().Renew(id, nil)
	require.NoError(t, err)
	require.NotNil(t, e)
	ok, _, err := c2.KV().Acquire(&api.KVPair{Key: "cluster/lock", Session: id}, nil)
	require.NoError(t, err)
	require.True(t, ok)

	// A short TTL session outlives the failover: TTL timers are the
	// leader's, and a new leader starts every one afresh (Consul: "renewed
	// ... on leader failover"); unrenewed after that, it expires.
	const ttl = 300 * time.Millisecond
	short, _, err := c1.Session().Create(&api.SessionEntry{Node: followers[0].cfg.NodeName, TTL: ttl.String()}, nil)
	require.NoError(t, err)

	// The leader dies (no leave): the other two elect a new one and take
	// writes again.
	require.NoError(t, leader.Shutdown(context.Background()))
	newLeader := leaderOf(t, followers)
	require.NotEqual(t, leader.nodeID, newLeader.nodeID)
	ready := time.Now()
	s, _, err := apiClient(t, newLeader).Session().Info(short, &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.NotNil(t, s, "a TTL session expired across the failover")
	waitFor(t, 5*time.Second, func() bool {
		s, _, err := apiClient(t, newLeader).Session().Info(short, nil)
		return err == nil && s == nil
	}, "the short TTL session to expire after the failover")
	require.GreaterOrEqual(t, time.Since(ready), ttl, "expired before a full TTL from the failover")
	waitFor(t, 10*time.Second, func() bool {
		_, err := c1.KV().Put(&api.KVPair{Key: "cluster/after", Value: []byte("x")}, nil)
		return err == nil
	}, "a write after the leader died")
	p, _, err = c2.KV().Get("cluster/after", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
}

func TestClusterGracefulLeave(t *testing.T) {
	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var leaver *Agent
	for _, a := range agents {
		if a != leader {
			leaver = a
			break
		}
	}
	code, _, body := do(t, http.MethodPut, leaver.url("/v1/agent/leave"), nil)
	require.Equal(t, 200, code, body)
	waitFor(t, 10*time.Second, func() bool {
		st, err := leader.srv.drv.Status(context.Background())
		if err != nil {
			return false
		}
		for _, s := range st.Configuration.Servers {
			if s.ID == raft.NodeID(leaver.nodeID) {
				return false
			}
		}
		return len(st.Configuration.Servers) == 2
	}, "the leaver out of the Raft configuration")
	require.NoError(t, leaver.Shutdown(context.Background()))
	// Two servers still have a quorum of the new configuration.
	_, err := apiClient(t, leader).KV().Put(&api.KVPair{Key: "after-leave", Value: []byte("1")}, nil)
	require.NoError(t, err)

	// With its node_id fixed by configuration it cannot take a new one:
	// start-up fails saying so, and nothing is emptied.
	fixed := leaver.cfg
	fixed.NodeID = leaver.nodeID
	_, err = New(fixed, leaver.log)
	require.ErrorContains(t, err, "Raft IDs are never reused")

	// Started again from its data dir, it rejoins as a new server (its
	// old Raft ID is never reused) and catches up.
	back, err := New(leaver.cfg, leaver.log)
	require.NoError(t, err)
	t.Cleanup(func() { back.Shutdown(context.Background()) })
	require.NotEqual(t, leaver.nodeID, back.nodeID)
	waitFor(t, 30*time.Second, func() bool {
		st, err := leader.srv.drv.Status(context.Background())
		if err != nil || len(st.Configuration.Servers) != 3 {
			return false
		}
		for _, s := range st.Configuration.Servers {
			if s.ID == raft.NodeID(back.nodeID) {
				return s.Suffrage == raft.Voter
			}
		}
		return false
	}, "the restarted leaver a voter again")
	waitFor(t, 10*time.Second, func() bool {
		_, e := back.store.KVGet(nil, "after-leave")
		return e != nil
	}, "the restarted leaver caught up")
}
