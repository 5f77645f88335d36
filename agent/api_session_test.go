package agent

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

func TestAPISessions(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	se := c.Session()

	id, _, err := se.Create(&api.SessionEntry{Name: "s1", TTL: "30s"}, nil)
	require.NoError(t, err)
	info, meta, err := se.Info(id, nil)
	require.NoError(t, err)
	require.NotNil(t, info)
	require.Equal(t, "s1", info.Name)
	require.Equal(t, "test-node", info.Node)
	require.Equal(t, "30s", info.TTL)
	require.Equal(t, 15*time.Second, info.LockDelay, "default lock-delay")
	require.Equal(t, "release", info.Behavior)
	require.Equal(t, []string{"serfHealth"}, info.NodeChecks)
	require.GreaterOrEqual(t, meta.LastIndex, info.CreateIndex)

	renewed, _, err := se.Renew(id, nil)
	require.NoError(t, err)
	require.NotNil(t, renewed)
	require.Equal(t, id, renewed.ID)

	list, _, err := se.List(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	node, _, err := se.Node("test-node", nil)
	require.NoError(t, err)
	require.Len(t, node, 1)

	_, err = se.Destroy(id, nil)
	require.NoError(t, err)
	info, _, err = se.Info(id, nil)
	require.NoError(t, err)
	require.Nil(t, info)
	renewed, _, err = se.Renew(id, nil)
	require.NoError(t, err, "renewing a gone session is not an error for the client")
	require.Nil(t, renewed)
	_, err = se.Destroy(id, nil)
	require.NoError(t, err, "destroy is idempotent")

	// TTL bounds and Behavior: Consul refuses them in its RPC, a 500.
	for _, ttl := range []string{"10ms", "25h", "bogus"} {
		_, _, err := se.Create(&api.SessionEntry{TTL: ttl}, nil)
		require.ErrorContains(t, err, "500", ttl)
	}
	_, _, err = se.Create(&api.SessionEntry{Behavior: "explode"}, nil)
	require.ErrorContains(t, err, "500 (Invalid Behavior setting 'explode')")
	_, _, err = se.Create(&api.SessionEntry{Node: "no-such-node"}, nil)
	require.Error(t, err)
}

func TestAPISessionBehaviors(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	se, kv := c.Session(), c.KV()

	// release: the key stays, unlocked, LockIndex kept.
	rel, _, err := se.Create(&api.SessionEntry{LockDelay: time.Nanosecond}, nil)
	require.NoError(t, err)
	ok, _, err := kv.Acquire(&api.KVPair{Key: "r", Value: []byte("x"), Session: rel}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "r", Value: []byte("y"), Session: rel}, nil)
	require.NoError(t, err)
	require.True(t, ok, "re-acquire by the holder")
	p, _, err := kv.Get("r", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), p.LockIndex, "re-acquire by the same session does not bump LockIndex")
	require.Equal(t, rel, p.Session)
	_, err = se.Destroy(rel, nil)
	require.NoError(t, err)
	p, _, err = kv.Get("r", nil)
	require.NoError(t, err)
	require.NotNil(t, p)
	require.Empty(t, p.Session)
	require.Equal(t, uint64(1), p.LockIndex)

	// delete: the held key goes.
	del, _, err := se.Create(&api.SessionEntry{Behavior: "delete"}, nil)
	require.NoError(t, err)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "ephemeral", Value: []byte("x"), Session: del}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = se.Destroy(del, nil)
	require.NoError(t, err)
	p, _, err = kv.Get("ephemeral", nil)
	require.NoError(t, err)
	require.Nil(t, p)

	// release by the holder keeps LockIndex and clears Session.
	s1, _, err := se.Create(&api.SessionEntry{}, nil)
	require.NoError(t, err)
	s2, _, err := se.Create(&api.SessionEntry{}, nil)
	require.NoError(t, err)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "l", Session: s1}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "l", Session: s2}, nil)
	require.NoError(t, err)
	require.False(t, ok, "held by another session")
	ok, _, err = kv.Release(&api.KVPair{Key: "l", Session: s2}, nil)
	require.NoError(t, err)
	require.False(t, ok, "only the holder releases")
	ok, _, err = kv.Release(&api.KVPair{Key: "l", Session: s1}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	p, _, err = kv.Get("l", nil)
	require.NoError(t, err)
	require.Empty(t, p.Session)
	require.Equal(t, uint64(1), p.LockIndex)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "l", Session: s2}, nil)
	require.NoError(t, err)
	require.True(t, ok, "an explicit release sets no lock-delay")
}

func TestAPISessionLockDelay(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	se, kv := c.Session(), c.KV()
	const delay = 500 * time.Millisecond
	s1, _, err := se.Create(&api.SessionEntry{LockDelay: delay}, nil)
	require.NoError(t, err)
	ok, _, err := kv.Acquire(&api.KVPair{Key: "d", Session: s1}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = se.Destroy(s1, nil)
	invalidated := time.Now()
	require.NoError(t, err)

	s2, _, err := se.Create(&api.SessionEntry{}, nil)
	require.NoError(t, err)
	ok, _, err = kv.Acquire(&api.KVPair{Key: "d", Session: s2}, nil)
	require.NoError(t, err)
	require.False(t, ok, "re-acquire inside the lock-delay fails")
	waitFor(t, 5*time.Second, func() bool {
		ok, _, err := kv.Acquire(&api.KVPair{Key: "d", Session: s2}, nil)
		require.NoError(t, err)
		return ok
	}, "acquire after the lock-delay")
	require.GreaterOrEqual(t, time.Since(invalidated), delay-50*time.Millisecond)
}

func TestAPISessionTTLExpiry(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	se, kv := c.Session(), c.KV()
	const ttl = 300 * time.Millisecond
	id, _, err := se.Create(&api.SessionEntry{TTL: ttl.String(), LockDelay: time.Nanosecond}, nil)
	require.NoError(t, err)
	created := time.Now()
	ok, _, err := kv.Acquire(&api.KVPair{Key: "ttl", Session: id}, nil)
	require.NoError(t, err)
	require.True(t, ok)

	// Renewing keeps it alive past 2×TTL.
	for time.Since(created) < 3*ttl {
		e, _, err := se.Renew(id, nil)
		require.NoError(t, err)
		require.NotNil(t, e)
		time.Sleep(ttl / 3) // renew cadence (what a client does), not synchronisation
	}
	lastRenew := time.Now()
	waitFor(t, 5*time.Second, func() bool {
		info, _, err := se.Info(id, nil)
		require.NoError(t, err)
		return info == nil
	}, "session expiry")
	gone := time.Since(lastRenew)
	require.GreaterOrEqual(t, gone, ttl, "expired before its TTL")
	require.Less(t, gone, 2*ttl+time.Second, "expired long after 2×TTL")
	p, _, err := kv.Get("ttl", nil)
	require.NoError(t, err)
	require.Empty(t, p.Session, "expiry released the lock")
}

func TestAPILockContention(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	const key = "service/leader"
	l1, err := c.LockKey(key)
	require.NoError(t, err)
	lost1, err := l1.Lock(nil)
	require.NoError(t, err)
	require.NotNil(t, lost1)

	l2, err := c.LockOpts(&api.LockOptions{Key: key, LockWaitTime: 200 * time.Millisecond})
	require.NoError(t, err)
	acquired2 := make(chan (<-chan struct{}), 1)
	go func() {
		lost, err := l2.Lock(nil)
		if err != nil {
			lost = nil
		}
		acquired2 <- lost
	}()
	select {
	case <-acquired2:
		t.Fatal("second lock acquired while the first is held")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, l1.Unlock())
	var lost2 <-chan struct{}
	select {
	case lost2 = <-acquired2:
		require.NotNil(t, lost2)
	case <-time.After(10 * time.Second):
		t.Fatal("second lock not acquired after the first was released")
	}
	// The client closes lost1 from its monitor goroutine once its blocking
	// ?consistent GET sees the release: asynchronous, like against Consul.
	select {
	case <-lost1:
	case <-time.After(10 * time.Second):
		t.Fatal("the first lock's lost channel still open 10 s after Unlock")
	}

	// Invalidating the holder's session releases the lock and the holder
	// learns it lost it.
	p, _, err := c.KV().Get(key, nil)
	require.NoError(t, err)
	require.NotEmpty(t, p.Session)
	_, err = c.Session().Destroy(p.Session, nil)
	require.NoError(t, err)
	select {
	case <-lost2:
	case <-time.After(10 * time.Second):
		t.Fatal("lock holder not told its session was invalidated")
	}
	p, _, err = c.KV().Get(key, nil)
	require.NoError(t, err)
	require.Empty(t, p.Session)
}

func TestAPISemaphore(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	const prefix = "sem/pool"
	var sems []*api.Semaphore
	for range 3 {
		s, err := c.SemaphoreOpts(&api.SemaphoreOptions{Prefix: prefix, Limit: 2, SemaphoreWaitTime: 200 * time.Millisecond})
		require.NoError(t, err)
		sems = append(sems, s)
	}
	for _, s := range sems[:2] {
		lost, err := s.Acquire(nil)
		require.NoError(t, err)
		require.NotNil(t, lost)
	}
	var mu sync.Mutex
	third := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		lost, err := sems[2].Acquire(nil)
		mu.Lock()
		third = err == nil && lost != nil
		mu.Unlock()
	}()
	select {
	case <-done:
		t.Fatal("a third holder got a semaphore of limit 2")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, sems[0].Release())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("third holder not admitted after a release")
	}
	mu.Lock()
	require.True(t, third)
	mu.Unlock()
	require.NoError(t, sems[1].Release())
	require.NoError(t, sems[2].Release())
}

func TestAPITxn(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	txn := c.Txn()
	ok, resp, _, err := txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/a", Value: []byte("1")}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/b", Value: []byte("2")}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "t/a"}},
	}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, resp.Results, 3)
	require.Nil(t, resp.Results[0].KV.Value, "write results carry no value")
	require.Equal(t, "1", string(resp.Results[2].KV.Value))
	idx := resp.Results[0].KV.ModifyIndex

	// A failing check rolls back every operation.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "t/a", Value: []byte("changed")}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "t/b", Index: idx + 100}},
	}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.Len(t, resp.Errors, 1)
	require.Equal(t, 1, resp.Errors[0].OpIndex)
	p, _, err := c.KV().Get("t/a", nil)
	require.NoError(t, err)
	require.Equal(t, "1", string(p.Value))

	// Reads only: served without Raft, with read headers.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGetTree, Key: "t/"}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "t/c"}},
	}, &api.QueryOptions{AllowStale: true})
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, resp.Results, 2)

	// Deletes produce no result; cas and delete-cas.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "t/a", Value: []byte("3"), Index: idx}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "t/b"}},
	}, nil)
	require.NoError(t, err)
	require.True(t, ok, "%+v", resp.Errors)
	require.Len(t, resp.Results, 1)

	ok, resp, _, err = txn.Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: "frobnicate", Key: "x"}}}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.Len(t, resp.Errors, 1)
}

// TestAPILockOptions: the client's one-shot and conflict paths, which rest
// on short ?wait blocking GETs and on the flags of the lock key.
func TestAPILockOptions(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)

	held, err := c.LockKey("opt/lock")
	require.NoError(t, err)
	_, err = held.Lock(nil)
	require.NoError(t, err)
	defer held.Unlock()

	// One try, waiting at most LockWaitTime: no lock, no error.
	once, err := c.LockOpts(&api.LockOptions{Key: "opt/lock", LockTryOnce: true, LockWaitTime: 100 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	lost, err := once.Lock(nil)
	require.NoError(t, err)
	require.Nil(t, lost)
	require.Less(t, time.Since(start), 5*time.Second)

	// A key with other flags is not a lock.
	_, err = c.KV().Put(&api.KVPair{Key: "opt/plain", Value: []byte("x"), Flags: 7}, nil)
	require.NoError(t, err)
	other, err := c.LockKey("opt/plain")
	require.NoError(t, err)
	_, err = other.Lock(nil)
	require.ErrorIs(t, err, api.ErrLockConflict)

	// Semaphores agree on their limit.
	s1, err := c.SemaphoreOpts(&api.SemaphoreOptions{Prefix: "opt/sem", Limit: 1})
	require.NoError(t, err)
	_, err = s1.Acquire(nil)
	require.NoError(t, err)
	defer s1.Release()
	s2, err := c.SemaphoreOpts(&api.SemaphoreOptions{Prefix: "opt/sem", Limit: 2, SemaphoreTryOnce: true, SemaphoreWaitTime: 100 * time.Millisecond})
	require.NoError(t, err)
	_, err = s2.Acquire(nil)
	require.ErrorContains(t, err, "semaphore limit conflict (lock: 1, local: 2)")
}
