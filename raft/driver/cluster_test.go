package driver_test

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
	"github.com/agentd/agentd/transport"
	"github.com/agentd/agentd/wal"
)

// storage opens one node's log and snapshot store (again after a restart).
type storage func(t testing.TB, id raft.NodeID) (driver.LogStore, driver.SnapshotStore)

// memStorage keeps each node's MemoryStorage across restarts.
func memStorage() storage {
	logs := map[raft.NodeID]drivertest.MemLog{}
	snaps := map[raft.NodeID]*drivertest.SnapshotStore{}
	return func(t testing.TB, id raft.NodeID) (driver.LogStore, driver.SnapshotStore) {
		if _, ok := logs[id]; !ok {
			logs[id], snaps[id] = drivertest.NewMemLog(), drivertest.NewSnapshotStore()
		}
		return logs[id], snaps[id]
	}
}

// walStorage opens wal.Log and wal.SnapshotStore on fsys.
func walStorage(fsys vfs.FS, root string, cfg wal.Config) storage {
	return func(t testing.TB, id raft.NodeID) (driver.LogStore, driver.SnapshotStore) {
		l, err := wal.Open(fsys, path.Join(root, string(id), "wal"), cfg)
		require.NoError(t, err)
		s, err := wal.OpenSnapshotStore(fsys, path.Join(root, string(id), "snap"), 2)
		require.NoError(t, err)
		return l, driver.WALSnapshots(s)
	}
}

type cnode struct {
	id    raft.NodeID
	d     *driver.Driver
	fsm   *drivertest.FSM
	log   driver.LogStore
	snaps driver.SnapshotStore
}

type cluster struct {
	t     testing.TB
	net   *transport.MemNetwork
	open  storage
	conf  raft.Configuration
	tweak func(*driver.Config)
	nodes map[raft.NodeID]*cnode
	ids   []raft.NodeID
}

func newCluster(t testing.TB, n int, open storage, tweak func(*driver.Config)) *cluster {
	c := &cluster{t: t, net: transport.NewMemNetwork(t.TempDir()), open: open, tweak: tweak, nodes: map[raft.NodeID]*cnode{}}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, raft.NodeID(fmt.Sprintf("n%d", i)))
	}
	c.conf = servers(c.ids...)
	for _, id := range c.ids {
		log, _ := open(t, id)
		require.NoError(t, driver.Bootstrap(log, c.conf))
		require.NoError(t, log.Close())
	}
	for i, id := range c.ids {
		c.start(id, uint64(i+1))
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) start(id raft.NodeID, seed uint64) {
	log, snaps := c.open(c.t, id)
	rc := raft.SimConfig(id, clock.NewRand(seed))
	rc.TickInterval = 5 * time.Millisecond
	cfg := driver.DefaultConfig(rc)
	cfg.OnFatal = func(err error) { c.t.Errorf("%s: fatal: %v", id, err) }
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	n := &cnode{id: id, fsm: &drivertest.FSM{}, log: log, snaps: snaps}
	d, err := driver.Start(cfg, driver.DriverDeps{
		Log: log, Snapshots: snaps, FSM: n.fsm, Transport: c.net.Endpoint("addr-" + string(id)),
	})
	require.NoError(c.t, err)
	n.d = d
	c.net.Register("addr-"+string(id), d)
	c.nodes[id] = n
}

func (c *cluster) stop(id raft.NodeID) {
	n := c.nodes[id]
	if n == nil {
		return
	}
	c.net.Unregister("addr-" + string(id))
	n.d.Stop()
	require.NoError(c.t, n.log.Close())
	delete(c.nodes, id)
}

func (c *cluster) stopAll() {
	c.net.Wait()
	for _, id := range c.ids {
		c.stop(id)
	}
}

// leader waits for a node that believes it leads.
func (c *cluster) leader() *cnode {
	var l *cnode
	require.Eventually(c.t, func() bool {
		for _, id := range c.ids {
			if n := c.nodes[id]; n != nil && n.d.Leader().Role == raft.Leader {
				l = n
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "no leader elected")
	return l
}

// propose commits data through whichever node leads, retrying rejections.
func (c *cluster) propose(data []byte) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l := c.leader()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _, err := l.d.Propose(ctx, data)
		cancel()
		if err == nil {
			return
		}
		if errors.Is(err, driver.ErrStopped) {
			c.t.Fatalf("propose: %v", err)
		}
	}
	c.t.Fatalf("propose %q: no success before the deadline", data)
}

// proposeMany commits n distinct commands from w concurrent proposers and
// returns them sorted.
func (c *cluster) proposeMany(prefix string, n, w int) []string {
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += w {
				c.propose([]byte(fmt.Sprintf("%s-%05d", prefix, i)))
			}
		}()
	}
	wg.Wait()
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("%s-%05d", prefix, i))
	}
	return want
}

// converged waits until every running node applied the same commands, and
// checks that want is among them (retried proposals may apply twice).
func (c *cluster) converged(want []string) {
	var last string
	poll(c.t, 20*time.Second, func() bool {
		var ref []string
		for i, id := range c.ids {
			n := c.nodes[id]
			if n == nil {
				continue
			}
			got := strs(n.fsm.Commands())
			if i == 0 || ref == nil {
				ref = got
				continue
			}
			if !slices.Equal(ref, got) {
				last = fmt.Sprintf("%s has %d commands, %s has %d", c.ids[0], len(ref), id, len(got))
				return false
			}
		}
		set := map[string]bool{}
		for _, s := range ref {
			set[s] = true
		}
		for _, w := range want {
			if !set[w] {
				last = fmt.Sprintf("missing %s", w)
				return false
			}
		}
		return true
	}, func() string { return "not converged: " + last })
}

// poll checks cond every millisecond until it holds or the deadline passes.
func poll(t testing.TB, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatal(why())
		case <-tick.C:
		}
	}
}

func testClusterReplicatesAndRestarts(t *testing.T, open storage) {
	c := newCluster(t, 3, open, nil)
	want := c.proposeMany("a", 1000, 16)
	c.converged(want)

	// Restart a follower: it restores from its own log and catches up.
	l := c.leader()
	var f raft.NodeID
	for _, id := range c.ids {
		if id != l.id {
			f = id
			break
		}
	}
	c.stop(f)
	want = append(want, c.proposeMany("b", 100, 4)...)
	c.start(f, 99)
	want = append(want, c.proposeMany("c", 10, 1)...)
	c.converged(want)
}

func TestClusterMemoryStorage(t *testing.T) {
	testClusterReplicatesAndRestarts(t, memStorage())
}

func TestClusterWALOnMemFS(t *testing.T) {
	testClusterReplicatesAndRestarts(t, walStorage(vfs.NewMem(), "data", wal.TestConfig()))
}

// TestClusterSnapshotCatchUp: a node cut off while the others snapshot and
// compact past it catches up by InstallSnapshot.
func TestClusterSnapshotCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		open storage
	}{
		{"memory", memStorage()},
		{"wal", walStorage(vfs.NewMem(), "data", wal.TestConfig())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, tc.open, func(cfg *driver.Config) {
				cfg.SnapshotThreshold = 50
				cfg.TrailingLogs = 10
			})
			want := c.proposeMany("a", 20, 2)
			c.converged(want)
			l := c.leader()
			var lag raft.NodeID
			for _, id := range c.ids {
				if id != l.id {
					lag = id
					break
				}
			}
			c.net.Cut("addr-" + string(lag))
			// Only two nodes run the cluster: keep proposing through the leader.
			for i := range 300 {
				c.propose([]byte(fmt.Sprintf("b-%05d", i)))
				want = append(want, fmt.Sprintf("b-%05d", i))
			}
			require.Greater(t, c.nodes[l.id].log.FirstIndex(), raft.Index(100), "leader compacted its log")
			c.net.Heal("addr-" + string(lag))
			c.converged(want)
			st, err := c.nodes[lag].d.Stats(context.Background())
			require.NoError(t, err)
			require.GreaterOrEqual(t, st.Installed, uint64(1), "caught up by snapshot")
			require.GreaterOrEqual(t, c.nodes[lag].fsm.Restores(), 1)

			// And it restarts from the installed snapshot.
			c.stop(lag)
			c.start(lag, 77)
			want = append(want, c.proposeMany("c", 5, 1)...)
			c.converged(want)
		})
	}
}
