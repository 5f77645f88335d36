package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// diskServerConfig is a non-dev server on loopback with a data dir and
// free ports (gossip and the server RPC run for every non-dev server).
// It sets neither bootstrap nor bootstrap_expect: a join-only server.
func diskServerConfig(t *testing.T, name string) config.Config {
	t.Helper()
	cfg := testConfig()
	cfg.DevMode = false
	cfg.Bootstrap = false
	cfg.NodeName = name
	cfg.DataDir = t.TempDir()
	cfg.BindAddr = "127.0.0.1"
	cfg.Ports.SerfLAN = freePort(t)
	cfg.Ports.Server = freePort(t)
	return cfg
}

func testLogger(t *testing.T, name string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("agent", name)
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer starts an agent with cfg and stops it at the test's end.
func startServerAgent(t *testing.T, cfg config.Config) *Agent {
	t.Helper()
	a, err := New(cfg, testLogger(t, cfg.NodeName))
	require.NoError(t, err)
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	return a
}

// joinEachOther gives every server the others' gossip addresses to
// retry_join.
func joinEachOther(cfgs []config.Config) {
	for i := range cfgs {
		for j := range cfgs {
			if i != j {
				cfgs[i].RetryJoin = append(cfgs[i].RetryJoin, serfAddr(cfgs[j]))
			}
		}
	}
}

func serfAddr(cfg config.Config) string { return fmt.Sprintf("127.0.0.1:%d", cfg.Ports.SerfLAN) }

// voterNames returns the voters' node names in the Raft configuration c's
// agent serves, or nil on an error. (One client per agent: each new
// client opens new connections, and polling with fresh ones would hit
// limits.http_max_conns_per_client.)
func voterNames(c *api.Client) []string {
	rc, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range rc.Servers {
		if s.Voter {
			out = append(out, s.Node)
		}
	}
	return out
}

// TestClusterBootstrapThenJoin is the shape of Consul's own test servers
// (sdk/testutil): a "bootstrap": true server, then servers with
// "bootstrap": false joined to it through retry_join or
// PUT /v1/agent/join. Each joined server becomes a voter, KV works
// through all, the catalog shows Consul's node fields, and a joined
// server restarted from its data dir is a member again.
func TestClusterBootstrapThenJoin(t *testing.T) {
	t.Parallel()
	c1 := diskServerConfig(t, "s1")
	c1.Bootstrap = true
	s1 := startServerAgent(t, c1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s1.srv.waitReadyLeader(ctx), "a -bootstrap server elects itself")
	require.NotNil(t, s1.cluster, "a -bootstrap server runs gossip")

	c2 := diskServerConfig(t, "s2")
	c2.RetryJoin = []string{serfAddr(c1)}
	s2 := startServerAgent(t, c2)
	c3 := diskServerConfig(t, "s3")
	s3 := startServerAgent(t, c3)

	// The bootstrap server joins s3's gossip port (Consul's JoinLAN).
	code, _, body := do(t, http.MethodPut, s1.url("/v1/agent/join/"+serfAddr(c3)), nil)
	require.Equal(t, 200, code, body)
	code, _, body = do(t, http.MethodPut, s1.url("/v1/agent/join/"+serfAddr(c3)+"?wan=1"), nil)
	require.Equal(t, 500, code, "agentd has no WAN pool")
	require.Contains(t, body, "WAN")

	api1, api3 := apiClient(t, s1), apiClient(t, s3)
	waitFor(t, 15*time.Second, func() bool { return len(voterNames(api1)) == 3 }, "three voters")
	// A follower's answer catches up with the leader's latest
	// configuration (the promotion may not be committed yet).
	waitFor(t, 5*time.Second, func() bool { return len(voterNames(api3)) == 3 }, "three voters seen by s3")
	for _, a := range []*Agent{s2, s3} {
		_, ready, _ := a.srv.state()
		require.False(t, ready, "%s does not lead", a.cfg.NodeName)
	}

	// KV through every server.
	for i, a := range []*Agent{s1, s2, s3} {
		key := fmt.Sprintf("join/k%d", i)
		_, err := apiClient(t, a).KV().Put(&api.KVPair{Key: key, Value: []byte(a.cfg.NodeName)}, nil)
		require.NoError(t, err, a.cfg.NodeName)
	}
	for _, a := range []*Agent{s1, s2, s3} {
		// ?consistent: the default mode may serve a stale answer from
		// an old leader in the window after an election (Consul's
		// documented default), and the promotions above can cause one.
		ps, _, err := apiClient(t, a).KV().List("join/", &api.QueryOptions{RequireConsistent: true})
		require.NoError(t, err, a.cfg.NodeName)
		require.Len(t, ps, 3, a.cfg.NodeName)
	}

	// Gossip tags: bootstrap=1 on s1; no expect anywhere.
	members, err := apiClient(t, s2).Agent().Members(false)
	require.NoError(t, err)
	require.Len(t, members, 3)
	for _, m := range members {
		require.NotContains(t, m.Tags, "expect", m.Name)
		require.Equal(t, map[bool]string{true: "1", false: ""}[m.Name == "s1"], m.Tags["bootstrap"], m.Name)
	}

	checkCatalogShapes(t, s3)

	// s2 stops without leaving; a write while it is down; it restarts
	// from its data dir under the same ID and catches up.
	id2 := s2.nodeID
	require.NoError(t, s2.Shutdown(context.Background()))
	_, err = apiClient(t, s1).KV().Put(&api.KVPair{Key: "join/while-down", Value: []byte("x")}, nil)
	require.NoError(t, err)
	s2 = startServerAgent(t, c2)
	require.Equal(t, id2, s2.nodeID)
	waitFor(t, 10*time.Second, func() bool {
		_, e := s2.store.KVGet(nil, "join/while-down")
		return e != nil
	}, "the restarted server caught up")
	p, _, err := apiClient(t, s2).KV().Get("join/while-down", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
	api2 := apiClient(t, s2)
	waitFor(t, 10*time.Second, func() bool { return len(voterNames(api2)) == 3 }, "three voters seen by the restarted s2")
	require.ElementsMatch(t, []string{"s1", "s2", "s3"}, voterNames(api2))

	// The bootstrap server (the leader) stops; the joined servers elect
	// one of them and take writes; restarted from its data dir it does
	// not bootstrap or disrupt anything: it follows and catches up.
	id1 := s1.nodeID
	require.NoError(t, s1.Shutdown(context.Background()))
	newLeader := leaderOf(t, []*Agent{s2, s3})
	_, err = apiClient(t, newLeader).KV().Put(&api.KVPair{Key: "join/s1-down", Value: []byte("y")}, nil)
	require.NoError(t, err)
	s1 = startServerAgent(t, c1)
	require.Equal(t, id1, s1.nodeID)
	waitFor(t, 10*time.Second, func() bool {
		_, e := s1.store.KVGet(nil, "join/s1-down")
		return e != nil
	}, "the restarted bootstrap server caught up")
	lead, _, _ := newLeader.srv.state()
	require.Equal(t, newLeader.srv.id, lead, "the restarted bootstrap server did not take over")
	waitFor(t, 10*time.Second, func() bool { return len(voterNames(api2)) == 3 }, "still three voters")
}

// checkCatalogShapes compares /v1/catalog/nodes and /v1/health/node/<n>
// field by field with Consul's answers for a server's node.
func checkCatalogShapes(t *testing.T, a *Agent) {
	t.Helper()
	var nodes []map[string]any
	waitFor(t, 10*time.Second, func() bool {
		code, _, body := do(t, http.MethodGet, a.url("/v1/catalog/nodes"), nil)
		nodes = nil
		return code == 200 && json.Unmarshal([]byte(body), &nodes) == nil && len(nodes) == 3 &&
			nodes[0]["Meta"].(map[string]any)["consul-version"] != nil
	}, "three catalog nodes with Consul's fields")
	for _, n := range nodes {
		require.ElementsMatch(t, []string{"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex"}, keys(n))
		require.Equal(t, map[string]any{"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"}, n["TaggedAddresses"])
		require.Equal(t, map[string]any{"consul-network-segment": "", "consul-version": Version}, n["Meta"])
		require.Regexp(t, `^[0-9a-f]{8}-`, n["ID"])
	}
	code, _, body := do(t, http.MethodGet, a.url("/v1/health/node/s2"), nil)
	require.Equal(t, 200, code, body)
	var checks []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &checks))
	require.Len(t, checks, 1)
	require.ElementsMatch(t, []string{"Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName",
		"ServiceTags", "Type", "Interval", "Timeout", "ExposedPort", "Definition", "CreateIndex", "ModifyIndex"}, keys(checks[0]))
	require.Equal(t, "serfHealth", checks[0]["CheckID"])
	require.Equal(t, "Serf Health Status", checks[0]["Name"])
	require.Equal(t, "passing", checks[0]["Status"])
	require.Equal(t, map[string]any{}, checks[0]["Definition"])
	require.Equal(t, []any{}, checks[0]["ServiceTags"])
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestClusterJoinOnlyWaits: a server with neither bootstrap nor
// bootstrap_expect and nobody to join serves its API, never elects
// itself, and answers Consul's 500 "No cluster leader" once
// rpc_hold_timeout has passed.
func TestClusterJoinOnlyWaits(t *testing.T) {
	t.Parallel()
	a := startServerAgent(t, diskServerConfig(t, "lonely"))
	require.NotNil(t, a.cluster)
	c := apiClient(t, a)
	_, err := c.Agent().Self() // sdk/testutil's waitForAPI
	require.NoError(t, err)
	members, err := c.Agent().Members(false)
	require.NoError(t, err)
	require.Len(t, members, 1)
	require.NotContains(t, members[0].Tags, "expect")
	require.NotContains(t, members[0].Tags, "bootstrap")
	leader, err := c.Status().Leader()
	require.NoError(t, err)
	require.Empty(t, leader)

	// PUT /v1/agent/join: nobody at the address is Consul's 500 naming
	// it; joining our own gossip address succeeds.
	code, _, body := do(t, http.MethodPut, a.url(fmt.Sprintf("/v1/agent/join/127.0.0.1:%d", freePort(t))), nil)
	require.Equal(t, 500, code)
	require.Contains(t, body, "* Failed to join 127.0.0.1:")
	code, _, body = do(t, http.MethodPut, a.url("/v1/agent/join/"+serfAddr(a.cfg)), nil)
	require.Equal(t, 200, code, body)

	start := time.Now()
	code, _, body = do(t, http.MethodGet, a.url("/v1/kv/x"), nil)
	require.Equal(t, 500, code)
	require.Equal(t, "No cluster leader", strings.TrimSpace(body))
	require.GreaterOrEqual(t, time.Since(start), rpcHoldTimeout)

	st, err := a.srv.drv.Status(context.Background())
	require.NoError(t, err)
	require.Empty(t, st.Configuration.Servers, "no configuration of its own")
	require.NotEqual(t, "Leader", st.SoftState.Role.String())
}

// TestClusterExpectCountsJoinOnly: as Consul's maybeBootstrap, servers
// waiting for bootstrap_expect count a join-only server of the pool (it
// has no expect tag and an empty log) and bootstrap with it as a voter.
func TestClusterExpectCountsJoinOnly(t *testing.T) {
	t.Parallel()
	cfgs := []config.Config{diskServerConfig(t, "e1"), diskServerConfig(t, "e2"), diskServerConfig(t, "j3")}
	cfgs[0].BootstrapExpect, cfgs[1].BootstrapExpect = 3, 3
	joinEachOther(cfgs)
	agents := make([]*Agent, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agents[i], errs[i] = New(cfg, testLogger(t, cfg.NodeName))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, cfgs[i].NodeName)
		t.Cleanup(func() { agents[i].Shutdown(context.Background()) })
	}
	c3 := apiClient(t, agents[2])
	waitFor(t, 15*time.Second, func() bool { return len(voterNames(c3)) == 3 }, "three voters")
	_, err := c3.KV().Put(&api.KVPair{Key: "mixed", Value: []byte("1")}, nil)
	require.NoError(t, err)
	p, _, err := apiClient(t, agents[0]).KV().Get("mixed", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
}
