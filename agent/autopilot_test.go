package agent

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/swim"
)

func voters(ids ...string) []raft.Server {
	var out []raft.Server
	for _, id := range ids {
		out = append(out, raft.Server{ID: raft.NodeID(id), Suffrage: raft.Voter})
	}
	return out
}

func nonvoters(ids ...string) []raft.Server {
	var out []raft.Server
	for _, id := range ids {
		out = append(out, raft.Server{ID: raft.NodeID(id), Suffrage: raft.Nonvoter})
	}
	return out
}

func TestPlanDeadServerRemovals(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cfg := autopilotConfig{cleanupDeadServers: true, deadAfter: 10 * time.Second}
	long := t0.Add(-time.Minute) // dead for a minute
	for _, tc := range []struct {
		name    string
		servers []raft.Server
		dead    map[raft.NodeID]time.Time
		cfg     func(*autopilotConfig)
		want    []raft.NodeID
	}{
		{name: "all alive", servers: voters("a", "b", "c")},
		{name: "one of three dead long enough", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"c": long}, want: []raft.NodeID{"c"}},
		{name: "dead exactly deadAfter", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"c": t0.Add(-10 * time.Second)}, want: []raft.NodeID{"c"}},
		{name: "dead not long enough", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"c": t0.Add(-9 * time.Second)}},
		{name: "cleanup disabled", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"c": long}, cfg: func(c *autopilotConfig) { c.cleanupDeadServers = false }},
		{name: "never the leader itself", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"a": long}},
		{name: "two of three dead: one at most ((3-1)/2)", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"b": long, "c": long}, want: []raft.NodeID{"b"}},
		{name: "two voters: none ((2-1)/2 = 0)", servers: voters("a", "b"),
			dead: map[raft.NodeID]time.Time{"b": long}},
		{name: "five voters, three dead: two", servers: voters("a", "b", "c", "d", "e"),
			dead: map[raft.NodeID]time.Time{"c": long, "d": long, "e": long}, want: []raft.NodeID{"c", "d"}},
		{name: "min_quorum 3 keeps three voters", servers: voters("a", "b", "c"),
			dead: map[raft.NodeID]time.Time{"c": long}, cfg: func(c *autopilotConfig) { c.minQuorum = 3 }},
		{name: "min_quorum 3 of five: two may go", servers: voters("a", "b", "c", "d", "e"),
			dead: map[raft.NodeID]time.Time{"d": long, "e": long}, cfg: func(c *autopilotConfig) { c.minQuorum = 3 }, want: []raft.NodeID{"d", "e"}},
		{name: "min_quorum 4 of five: one", servers: voters("a", "b", "c", "d", "e"),
			dead: map[raft.NodeID]time.Time{"d": long, "e": long}, cfg: func(c *autopilotConfig) { c.minQuorum = 4 }, want: []raft.NodeID{"d"}},
		{name: "non-voters first and uncapped", servers: append(voters("a", "b", "c"), nonvoters("x", "y")...),
			dead: map[raft.NodeID]time.Time{"y": long, "x": long, "c": long, "b": long}, want: []raft.NodeID{"x", "y", "b"}},
		{name: "non-voter removed even with two voters", servers: append(voters("a", "b"), nonvoters("x")...),
			dead: map[raft.NodeID]time.Time{"x": long, "b": long}, want: []raft.NodeID{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			got := planDeadServerRemovals(raft.Configuration{Servers: tc.servers}, "a", tc.dead, t0, c)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDeadTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := newDeadTracker()
	d.observe(t0, map[raft.NodeID]serverHealth{"a": serverAlive, "b": serverFailed, "c": serverUnknown})
	require.Equal(t, map[raft.NodeID]time.Time{"b": t0, "c": t0}, d.since)
	// Still dead: the first sighting stays.
	d.observe(t0.Add(time.Second), map[raft.NodeID]serverHealth{"a": serverAlive, "b": serverFailed, "c": serverUnknown})
	require.Equal(t, map[raft.NodeID]time.Time{"b": t0, "c": t0}, d.since)
	// b came back, c left (reconcile's job), a failed: only a counts, from now.
	t2 := t0.Add(2 * time.Second)
	d.observe(t2, map[raft.NodeID]serverHealth{"a": serverFailed, "b": serverAlive, "c": serverLeft})
	require.Equal(t, map[raft.NodeID]time.Time{"a": t2}, d.since)
	// b fails again: its clock starts over.
	t3 := t0.Add(3 * time.Second)
	d.observe(t3, map[raft.NodeID]serverHealth{"a": serverFailed, "b": serverFailed})
	require.Equal(t, map[raft.NodeID]time.Time{"a": t2, "b": t3}, d.since)
}

func TestRaftServerHealth(t *testing.T) {
	conf := raft.Configuration{Servers: voters("id-a", "id-b", "id-c", "id-d", "ID-E")}
	srv := func(name, id string, st swim.Status) swim.Member {
		return swim.Member{Name: name, Status: st, Tags: map[string]string{"role": "consul", "id": id}}
	}
	members := []swim.Member{
		srv("a", "id-a", swim.StatusAlive),
		srv("b", "id-b", swim.StatusFailed),
		srv("c", "id-c", swim.StatusLeft),
		// d restarted: an old failed entry and a new alive one.
		srv("d-old", "id-d", swim.StatusFailed),
		srv("d", "id-d", swim.StatusAlive),
		srv("e", "id-e", swim.StatusFailed), // case differs from the Raft ID
		{Name: "client", Status: swim.StatusFailed, Tags: map[string]string{"id": "id-x"}},
	}
	got := raftServerHealth(conf, members)
	require.Equal(t, map[raft.NodeID]serverHealth{
		"id-a": serverAlive, "id-b": serverFailed, "id-c": serverLeft, "id-d": serverAlive, "ID-E": serverFailed,
	}, got)
	// A server gossip has never heard of is unknown (stale).
	conf.Servers = append(conf.Servers, voters("id-z")...)
	require.Equal(t, serverUnknown, raftServerHealth(conf, members)["id-z"])
}

// A server killed without leaving is removed once gossip has reported it
// failed for deadServerAfter; with two voters left, a second dead server
// never is (removing it would leave no majority of the old configuration).
func TestClusterAutopilotRemovesDeadServer(t *testing.T) {
	oldAfter, oldInterval := deadServerAfter, autopilotInterval
	deadServerAfter, autopilotInterval = time.Second, 100*time.Millisecond
	t.Cleanup(func() { deadServerAfter, autopilotInterval = oldAfter, oldInterval })

	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var others []*Agent
	for _, a := range agents {
		if a != leader {
			others = append(others, a)
		}
	}
	servers := func(a *Agent) []raft.NodeID {
		st, err := a.srv.drv.Status(context.Background())
		if err != nil {
			return nil
		}
		var ids []raft.NodeID
		for _, s := range st.Configuration.Servers {
			ids = append(ids, s.ID)
		}
		return ids
	}
	waitFor(t, 10*time.Second, func() bool { return len(servers(leader)) == 3 }, "three servers")
	dead := others[0]
	killed := time.Now()
	require.NoError(t, dead.Shutdown(context.Background())) // no leave: a crash to the others
	waitFor(t, 30*time.Second, func() bool {
		ids := servers(leader)
		return len(ids) == 2 && !slicesContains(ids, raft.NodeID(dead.nodeID))
	}, "the dead server out of the Raft configuration")
	require.GreaterOrEqual(t, time.Since(killed), deadServerAfter, "removed before deadServerAfter")
	// The configuration shows the removal once appended; the count once
	// committed. Leadership may have moved meanwhile: count over the
	// survivors.
	removed := func() uint64 { return leader.autopilotRemoved.Load() + others[1].autopilotRemoved.Load() }
	waitFor(t, 15*time.Second, func() bool { return removed() == 1 }, "the removal committed")
	// Force-left, so the reconcile loop deregisters its catalog node.
	waitFor(t, 15*time.Second, func() bool {
		_, n := leader.store.Node(nil, dead.cfg.NodeName)
		return n == nil
	}, "the dead server's catalog node deregistered")

	// Two voters left: (2-1)/2 = 0 may go. Kill the other follower and
	// check the configuration keeps both well past deadServerAfter.
	require.NoError(t, others[1].Shutdown(context.Background()))
	deadline := time.Now().Add(3 * deadServerAfter)
	for time.Now().Before(deadline) {
		require.Len(t, servers(leader), 2)
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	require.Equal(t, uint64(1), removed())
}

func slicesContains(ids []raft.NodeID, id raft.NodeID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestIsReusedID(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w: AddNonvoter x: id was removed before; ids are never reused", raft.ErrInvalidConfChange), true},
		{fmt.Errorf("%w: AddNonvoter x: already a member", raft.ErrInvalidConfChange), false},
		{errors.New("ids are never reused"), false},
		{raft.ErrNotLeader, false},
	} {
		require.Equal(t, tc.want, isReusedID(tc.err), "%v", tc.err)
	}
}

// A server removed while down rejoins when restarted from its data dir:
// the leader's configuration no longer names it, so it empties its Raft
// state, takes a new node ID and is added back as a new server, catching
// up on everything written meanwhile.
func TestClusterRemovedServerRejoins(t *testing.T) {
	oldAfter, oldInterval := deadServerAfter, autopilotInterval
	deadServerAfter, autopilotInterval = time.Second, 100*time.Millisecond
	t.Cleanup(func() { deadServerAfter, autopilotInterval = oldAfter, oldInterval })

	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var dead *Agent
	for _, a := range agents {
		if a != leader {
			dead = a
			break
		}
	}
	require.NoError(t, dead.Shutdown(context.Background()))
	waitFor(t, 30*time.Second, func() bool { return leader.autopilotRemoved.Load() == 1 }, "the dead server removed")
	_, err := apiClient(t, leader).KV().Put(&api.KVPair{Key: "while-away", Value: []byte("v")}, nil)
	require.NoError(t, err)

	back, err := New(dead.cfg, dead.log)
	require.NoError(t, err)
	t.Cleanup(func() { back.Shutdown(context.Background()) })
	require.NotEqual(t, dead.nodeID, back.nodeID, "a new Raft identity")
	waitFor(t, 30*time.Second, func() bool {
		st, err := leader.srv.drv.Status(context.Background())
		if err != nil {
			return false
		}
		for _, s := range st.Configuration.Servers {
			if s.ID == raft.NodeID(back.nodeID) {
				return s.Suffrage == raft.Voter && len(st.Configuration.Servers) == 3
			}
		}
		return false
	}, "the restarted server a voter again")
	waitFor(t, 10*time.Second, func() bool {
		_, e := back.store.KVGet(nil, "while-away")
		return e != nil
	}, "the restarted server caught up")
}
