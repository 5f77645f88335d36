package agent

// Sessions, locks and semaphores through Consul's Go client with clients
// on different servers of one cluster (TestAPICluster runs these).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/store"
)

// noDelaySession creates, through a, a session on a's node with no
// lock-delay and no TTL: the api client cannot ask for a lock-delay below
// 1 ms, and a 1 ms one can still be running when a waiter on another
// server tries its acquire (the client then retries only after 5 s).
func noDelaySession(t *testing.T, a *Agent) string {
	t.Helper()
	code, _, body := do(t, http.MethodPut, a.url("/v1/session/create"), strings.NewReader(`{"LockDelay":"0s"}`))
	require.Equal(t, 200, code, body)
	var out struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out.ID
}

// Sessions created through a follower belong to that follower's node and
// its serfHealth; every server reads them, renews them (the leader's TTL
// timer) and destroys them.
func clusterSessionsAcrossServers(t *testing.T, c *apiCluster) {
	f1, f2 := c.followers[0], c.followers[1]
	// Blocking List on one follower and Node on the leader are woken by a
	// create through the other follower.
	_, meta, err := c.c2.Session().List(nil)
	require.NoError(t, err)
	listed := blockingSessions(t, f2, func(q *api.QueryOptions) ([]*api.SessionEntry, *api.QueryMeta, error) {
		return c.c2.Session().List(q)
	}, api.QueryOptions{WaitIndex: meta.LastIndex})
	_, meta, err = c.cl.Session().Node(f1.cfg.NodeName, nil)
	require.NoError(t, err)
	onNode := blockingSessions(t, c.leader, func(q *api.QueryOptions) ([]*api.SessionEntry, *api.QueryMeta, error) {
		return c.cl.Session().Node(f1.cfg.NodeName, q)
	}, api.QueryOptions{WaitIndex: meta.LastIndex, AllowStale: true})
	id, _, err := c.c1.Session().Create(&api.SessionEntry{Name: "on-f1"}, nil)
	require.NoError(t, err)
	for _, ch := range []<-chan []*api.SessionEntry{listed, onNode} {
		ss := <-ch
		require.True(t, slices.ContainsFunc(ss, func(s *api.SessionEntry) bool { return s.ID == id }), "woken without the new session: %v", ss)
	}
	for _, cl := range []*api.Client{c.cl, c.c2} {
		s, meta, err := cl.Session().Info(id, nil)
		require.NoError(t, err)
		require.NotNil(t, s)
		require.Equal(t, f1.cfg.NodeName, s.Node, "Node defaults to the creating agent's")
		require.Equal(t, []string{store.SerfCheckID}, s.NodeChecks)
		require.Equal(t, "on-f1", s.Name)
		require.Equal(t, api.SessionBehaviorRelease, s.Behavior)
		require.Equal(t, 15*time.Second, s.LockDelay)
		require.Positive(t, s.CreateIndex)
		require.GreaterOrEqual(t, meta.LastIndex, s.CreateIndex)
	}
	list, _, err := c.c2.Session().List(nil)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(list, func(s *api.SessionEntry) bool { return s.ID == id }))
	onF1, _, err := c.cl.Session().Node(f1.cfg.NodeName, nil)
	require.NoError(t, err)
	require.Len(t, onF1, 1)
	require.Equal(t, id, onF1[0].ID)
	onF2, _, err := c.cl.Session().Node(f2.cfg.NodeName, nil)
	require.NoError(t, err)
	require.Empty(t, onF2)
	s, _, err := c.c2.Session().Renew(id, nil)
	require.NoError(t, err)
	require.NotNil(t, s)
	require.Equal(t, id, s.ID)
	s, _, err = c.c2.Session().Renew("00000000-0000-0000-0000-000000000000", nil)
	require.NoError(t, err)
	require.Nil(t, s, "an unknown session is a 404: nil to the client")
	// A blocking Info on one follower is woken by a destroy through the
	// other.
	_, meta, err = c.c1.Session().Info(id, nil)
	require.NoError(t, err)
	info := blockingSessions(t, f1, func(q *api.QueryOptions) ([]*api.SessionEntry, *api.QueryMeta, error) {
		s, meta, err := c.c1.Session().Info(id, q)
		if s == nil {
			return nil, meta, err
		}
		return []*api.SessionEntry{s}, meta, err
	}, api.QueryOptions{WaitIndex: meta.LastIndex})
	_, err = c.c2.Session().Destroy(id, nil)
	require.NoError(t, err)
	require.Empty(t, <-info, "the destroyed session")

	// A TTL session created through one follower and renewed through the
	// other lives past 2×TTL, and expires once renewals stop.
	const ttl = 150 * time.Millisecond
	id, _, err = c.c1.Session().Create(&api.SessionEntry{TTL: ttl.String(), Behavior: api.SessionBehaviorDelete}, nil)
	require.NoError(t, err)
	ok, _, err := c.c2.KV().Acquire(&api.KVPair{Key: "sess/ephemeral", Value: []byte("x"), Session: id}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	renew := time.NewTicker(ttl / 3) // the renewal cadence, not synchronisation
	defer renew.Stop()
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); <-renew.C {
		s, _, err := c.c2.Session().Renew(id, nil)
		require.NoError(t, err)
		require.NotNil(t, s, "a renewed session expired")
	}
	lastRenew := time.Now()
	waitFor(t, 5*time.Second, func() bool {
		s, _, err := c.cl.Session().Info(id, nil)
		return err == nil && s == nil
	}, "the TTL session expired")
	require.GreaterOrEqual(t, time.Since(lastRenew), ttl)
	p, _, err := c.c1.KV().Get("sess/ephemeral", nil)
	require.NoError(t, err)
	require.Nil(t, p, "a delete-behavior session's key goes with it")

	// The lock-delay of an invalidated session holds on every server: the
	// key is released at once, but no session acquires it for 15 s.
	held, _, err := c.c1.Session().Create(nil, nil)
	require.NoError(t, err)
	ok, _, err = c.c1.KV().Acquire(&api.KVPair{Key: "sess/delayed", Session: held}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = c.c2.Session().Destroy(held, nil)
	require.NoError(t, err)
	p, _, err = c.cl.KV().Get("sess/delayed", nil)
	require.NoError(t, err)
	require.Empty(t, p.Session)
	for _, a := range c.agents {
		other := noDelaySession(t, a)
		ok, _, err := apiClient(t, a).KV().Acquire(&api.KVPair{Key: "sess/delayed", Session: other}, nil)
		require.NoError(t, err)
		require.False(t, ok, "acquired through %s within the lock-delay", a.cfg.NodeName)
	}
}

// api.Lock with holders on three different servers: one holds, the others
// wait; Unlock hands it over; destroying the holder's session through
// another server hands it over again and tells the holder.
func clusterLockAcrossServers(t *testing.T, c *apiCluster) {
	const key = "locks/leader"
	lockOn := func(a *Agent) *api.Lock {
		l, err := apiClient(t, a).LockOpts(&api.LockOptions{Key: key, Session: noDelaySession(t, a)})
		require.NoError(t, err)
		return l
	}
	acquire := func(l *api.Lock) <-chan (<-chan struct{}) {
		ch := make(chan (<-chan struct{}), 1)
		go func() {
			lost, err := l.Lock(nil)
			if err != nil {
				lost = nil
			}
			ch <- lost
		}()
		return ch
	}
	holder := func() *api.KVPair {
		p, _, err := c.cl.KV().Get(key, nil)
		require.NoError(t, err)
		require.NotNil(t, p)
		return p
	}
	l1 := lockOn(c.followers[0])
	lost1, err := l1.Lock(nil)
	require.NoError(t, err)
	require.NotNil(t, lost1)
	first := holder()
	s1, _, err := c.cl.Session().Info(first.Session, nil)
	require.NoError(t, err)
	require.Equal(t, c.followers[0].cfg.NodeName, s1.Node)

	before := watchesAdded(c.followers[1])
	got2 := acquire(lockOn(c.followers[1]))
	waitFor(t, 10*time.Second, func() bool { return watchesAdded(c.followers[1]) > before }, "the second contender waiting")
	select {
	case <-got2:
		t.Fatal("a second holder while the first holds")
	default:
	}
	require.NoError(t, l1.Unlock())
	var lost2 <-chan struct{}
	select {
	case lost2 = <-got2:
		require.NotNil(t, lost2)
	case <-time.After(10 * time.Second):
		t.Fatal("the lock not handed over after Unlock")
	}
	select {
	case <-lost1:
	case <-time.After(10 * time.Second):
		t.Fatal("the first holder's lost channel still open after Unlock")
	}
	second := holder()
	require.NotEqual(t, first.Session, second.Session)
	require.Greater(t, second.LockIndex, first.LockIndex)

	before = watchesAdded(c.leader)
	got3 := acquire(lockOn(c.leader))
	waitFor(t, 10*time.Second, func() bool { return watchesAdded(c.leader) > before }, "the third contender waiting")
	_, err = c.c1.Session().Destroy(second.Session, nil)
	require.NoError(t, err)
	select {
	case <-lost2:
	case <-time.After(10 * time.Second):
		t.Fatal("the holder not told its session was destroyed")
	}
	select {
	case lost3 := <-got3:
		require.NotNil(t, lost3)
	case <-time.After(10 * time.Second):
		t.Fatal("the lock not handed over after the holder's session was destroyed")
	}
	third := holder()
	s3, _, err := c.c2.Session().Info(third.Session, nil)
	require.NoError(t, err)
	require.Equal(t, c.leader.cfg.NodeName, s3.Node)
}

// api.Semaphore of limit 2 with contenders on every server: two hold, the
// others wait; a release through one server admits a waiter, and so does
// destroying a holder's session through another (the waiters prune the
// holder whose contender key lost its session), which tells the holder.
func clusterSemaphoreAcrossServers(t *testing.T, c *apiCluster) {
	sem := func(a *Agent) (*api.Semaphore, string) {
		id := noDelaySession(t, a)
		s, err := apiClient(t, a).SemaphoreOpts(&api.SemaphoreOptions{Prefix: "sem/pool", Limit: 2, Session: id})
		require.NoError(t, err)
		return s, id
	}
	s1, _ := sem(c.followers[0])
	s2, id2 := sem(c.followers[1])
	lost := make([]<-chan struct{}, 2)
	for i, s := range []*api.Semaphore{s1, s2} {
		l, err := s.Acquire(nil)
		require.NoError(t, err)
		require.NotNil(t, l)
		lost[i] = l
	}
	got := make(chan error, 2)
	for _, a := range []*Agent{c.leader, c.followers[0]} {
		before := watchesAdded(a)
		s, _ := sem(a)
		go func() {
			lost, err := s.Acquire(nil)
			if err == nil && lost == nil {
				err = fmt.Errorf("no slot")
			}
			got <- err
		}()
		waitFor(t, 10*time.Second, func() bool { return watchesAdded(a) > before }, "a contender waiting on "+a.cfg.NodeName)
	}
	select {
	case <-got:
		t.Fatal("a third holder in a semaphore of limit 2")
	default:
	}
	admitted := func(why string) {
		t.Helper()
		select {
		case err := <-got:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("no waiting contender admitted after %s", why)
		}
	}
	require.NoError(t, s1.Release())
	admitted("a release")
	_, err := c.cl.Session().Destroy(id2, nil)
	require.NoError(t, err)
	admitted("a holder's session was destroyed")
	select {
	case <-lost[1]:
	case <-time.After(10 * time.Second):
		t.Fatal("the holder whose session was destroyed not told")
	}
}

// A lock held through a server that then leaves the cluster gracefully is
// released (the leader deregisters its node, which invalidates the
// sessions tied to it) and a contender on another server takes it: first
// a follower leaves, then the leader (the server left takes over and
// deregisters it).
func clusterLockReleasedWhenHolderLeaves(t *testing.T, c *apiCluster) {
	holderLeaves(t, c.followers[1], c.followers[0], 2)
	holderLeaves(t, c.leader, c.followers[0], 1)
}

// holderLeaves has leaver hold a lock, stay wait for it, and leaver
// leave; peers is how many servers remain.
func holderLeaves(t *testing.T, leaver, stay *Agent, peers int) {
	key := "locks/leaves/" + leaver.cfg.NodeName
	cs := apiClient(t, stay)
	l, err := apiClient(t, leaver).LockOpts(&api.LockOptions{Key: key, Session: noDelaySession(t, leaver)})
	require.NoError(t, err)
	lost, err := l.Lock(nil)
	require.NoError(t, err)
	require.NotNil(t, lost)
	p, _, err := cs.KV().Get(key, nil)
	require.NoError(t, err)
	held := p.Session

	waiter, err := cs.LockOpts(&api.LockOptions{Key: key, Session: noDelaySession(t, stay)})
	require.NoError(t, err)
	got := make(chan (<-chan struct{}), 1)
	go func() {
		lost, err := waiter.Lock(nil)
		if err != nil {
			lost = nil
		}
		got <- lost
	}()

	code, _, body := do(t, http.MethodPut, leaver.url("/v1/agent/leave"), nil)
	require.Equal(t, 200, code, body)
	select {
	case lost := <-got:
		require.NotNil(t, lost)
	case <-time.After(15 * time.Second):
		t.Fatal("the lock not taken over after its holder's server left")
	}
	s, _, err := cs.Session().Info(held, nil)
	require.NoError(t, err)
	require.Nil(t, s, "the leaver's session is gone")
	nodes, _, err := cs.Catalog().Nodes(nil)
	require.NoError(t, err)
	for _, n := range nodes {
		require.NotEqual(t, leaver.cfg.NodeName, n.Node, "a node that left is deregistered")
	}
	members, err := cs.Agent().Members(false)
	require.NoError(t, err)
	for _, m := range members {
		if m.Name == leaver.cfg.NodeName {
			require.Equal(t, 3, m.Status, "left")
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		ps, err := cs.Status().Peers()
		return err == nil && len(ps) == peers
	}, "the leaver out of the peers")
	// Removed already (the leader's reconcile may do it on hearing the
	// gossip leave, before the leaver asks), it leaves Raft at once rather
	// than wait rpcHoldTimeout for a leader it no longer hears from.
	start := time.Now()
	require.NoError(t, leaver.leaveRaft(t.Context()))
	require.Less(t, time.Since(start), 2*time.Second)

	require.NoError(t, leaver.Shutdown(t.Context()))
	select {
	case <-lost:
	case <-time.After(15 * time.Second):
		t.Fatal("the holder on the departed server not told it lost the lock")
	}
	waitFor(t, 10*time.Second, func() bool {
		lead, err := cs.Status().Leader()
		return err == nil && lead != "" && lead != leaver.raftAddr
	}, "a leader among the servers left")
}

// blockingSessions starts a blocking session read (with q's WaitIndex)
// on a, waits until a's store registered its wait, and returns what the
// read returns once woken; a failed read or an unchanged index fails t.
func blockingSessions(t *testing.T, a *Agent, read func(*api.QueryOptions) ([]*api.SessionEntry, *api.QueryMeta, error), q api.QueryOptions) <-chan []*api.SessionEntry {
	t.Helper()
	before := watchesAdded(a)
	out := make(chan []*api.SessionEntry, 1)
	go func() {
		q.WaitTime = 10 * time.Second
		ss, meta, err := read(&q)
		switch {
		case err != nil:
			t.Errorf("blocking session read on %s: %v", a.cfg.NodeName, err)
		case meta.LastIndex <= q.WaitIndex:
			t.Errorf("blocking session read on %s: index %d, waiting on %d", a.cfg.NodeName, meta.LastIndex, q.WaitIndex)
		}
		out <- ss
	}()
	waitFor(t, 10*time.Second, func() bool { return watchesAdded(a) > before }, "the blocking session read waiting")
	return out
}
