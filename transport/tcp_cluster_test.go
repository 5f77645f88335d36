package transport_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
	"github.com/agentd/agentd/transport"
)

// tcpNode is one server: a driver on MemoryStorage behind a TCP transport.
type tcpNode struct {
	id  raft.NodeID
	d   *driver.Driver
	tr  *transport.TCP
	fsm *drivertest.FSM
}

// tcpCluster runs drivers over real loopback sockets. Storage survives a
// node's restart; the transport is recreated on the same address.
type tcpCluster struct {
	t     *testing.T
	ids   []raft.NodeID
	addrs map[raft.NodeID]string
	logs  map[raft.NodeID]drivertest.MemLog
	snaps map[raft.NodeID]*drivertest.SnapshotStore
	tweak func(*driver.Config)
	nodes map[raft.NodeID]*tcpNode
	root  string
}

func newTCPCluster(t *testing.T, n int, tweak func(*driver.Config)) *tcpCluster {
	c := &tcpCluster{t: t, addrs: map[raft.NodeID]string{}, logs: map[raft.NodeID]drivertest.MemLog{},
		snaps: map[raft.NodeID]*drivertest.SnapshotStore{}, tweak: tweak, nodes: map[raft.NodeID]*tcpNode{}, root: t.TempDir()}
	// Bind first: the configuration needs the ephemeral ports.
	trs := map[raft.NodeID]*transport.TCP{}
	for i := 1; i <= n; i++ {
		id := raft.NodeID(fmt.Sprintf("n%d", i))
		c.ids = append(c.ids, id)
		trs[id] = c.listen(id, "127.0.0.1:0")
		c.addrs[id] = trs[id].Addr()
	}
	var conf raft.Configuration
	for _, id := range c.ids {
		conf.Servers = append(conf.Servers, raft.Server{ID: id, Address: c.addrs[id], Suffrage: raft.Voter})
	}
	for _, id := range c.ids {
		c.logs[id], c.snaps[id] = drivertest.NewMemLog(), drivertest.NewSnapshotStore()
		require.NoError(t, driver.Bootstrap(c.logs[id], conf))
	}
	for i, id := range c.ids {
		c.start(id, trs[id], uint64(i+1))
	}
	t.Cleanup(func() {
		for _, id := range c.ids {
			c.stop(id)
		}
	})
	return c
}

func (c *tcpCluster) listen(id raft.NodeID, addr string) *transport.TCP {
	cfg := transport.DefaultTCPConfig(addr, filepath.Join(c.root, string(id), "staging"))
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 50*time.Millisecond
	tr, err := transport.ListenTCP(cfg)
	require.NoError(c.t, err)
	return tr
}

func (c *tcpCluster) start(id raft.NodeID, tr *transport.TCP, seed uint64) {
	if tr == nil {
		tr = c.listen(id, c.addrs[id]) // restart on the same port
	}
	rc := raft.SimConfig(id, clock.NewRand(seed))
	rc.TickInterval = 10 * time.Millisecond
	cfg := driver.DefaultConfig(rc)
	cfg.OnFatal = func(err error) { c.t.Errorf("%s: fatal: %v", id, err) }
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	n := &tcpNode{id: id, tr: tr, fsm: &drivertest.FSM{}}
	d, err := driver.Start(cfg, driver.DriverDeps{Log: c.logs[id], Snapshots: c.snaps[id], FSM: n.fsm, Transport: tr})
	require.NoError(c.t, err)
	n.d = d
	tr.SetReceiver(d)
	c.nodes[id] = n
}

func (c *tcpCluster) stop(id raft.NodeID) {
	n := c.nodes[id]
	if n == nil {
		return
	}
	n.d.Stop()
	require.NoError(c.t, n.tr.Close())
	delete(c.nodes, id)
}

func (c *tcpCluster) leader() *tcpNode {
	var l *tcpNode
	poll(c.t, 10*time.Second, func() bool {
		for _, id := range c.ids {
			if n := c.nodes[id]; n != nil && n.d.Leader().Role == raft.Leader {
				l = n
				return true
			}
		}
		return false
	}, func() string { return "no leader elected" })
	return l
}

// propose commits data through whichever node leads, retrying rejections.
func (c *tcpCluster) propose(data []byte) {
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

func (c *tcpCluster) proposeMany(prefix string, n, w int) []string {
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += w {
				c.propose(fmt.Appendf(nil, "%s-%05d", prefix, i))
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

// converged waits until every running node applied the same commands,
// want among them (a retried proposal may apply twice).
func (c *tcpCluster) converged(want []string) {
	var last string
	poll(c.t, 20*time.Second, func() bool {
		var ref []string
		for _, id := range c.ids {
			n := c.nodes[id]
			if n == nil {
				continue
			}
			var got []string
			for _, cmd := range n.fsm.Commands() {
				got = append(got, string(cmd))
			}
			if ref == nil {
				ref = got
				continue
			}
			if !slices.Equal(ref, got) {
				last = fmt.Sprintf("%d vs %d commands (%s)", len(ref), len(got), id)
				return false
			}
		}
		set := map[string]bool{}
		for _, s := range ref {
			set[s] = true
		}
		for _, w := range want {
			if !set[w] {
				last = "missing " + w
				return false
			}
		}
		return true
	}, func() string { return "not converged: " + last })
}

// TestTCPClusterReplicates: three drivers over loopback TCP elect a leader
// and replicate 1000 proposals.
func TestTCPClusterReplicates(t *testing.T) {
	c := newTCPCluster(t, 3, nil)
	want := c.proposeMany("a", 1000, 16)
	c.converged(want)
	for _, n := range c.nodes {
		st := n.tr.Stats()
		require.Zero(t, st.BadFrames, "%s", n.id)
		require.Greater(t, st.Sent, uint64(0), "%s", n.id)
	}
}

// TestTCPClusterSnapshotCatchUp: a follower that is down while the others
// snapshot and compact past it restarts on the same port; the leader's
// lanes reconnect and it catches up through a streamed snapshot.
func TestTCPClusterSnapshotCatchUp(t *testing.T) {
	c := newTCPCluster(t, 3, func(cfg *driver.Config) {
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
	c.stop(lag)
	want = append(want, c.proposeMany("b", 300, 4)...)
	require.Greater(t, c.logs[l.id].FirstIndex(), raft.Index(100), "leader compacted its log")

	c.start(lag, nil, 99)
	c.converged(want)
	// The FSM is restored before the log records the install, and the
	// transports count a stream only after the receiver took it and the
	// sender read the acknowledgement: poll for all of them.
	var st driver.Stats
	var received, sent uint64
	poll(t, 10*time.Second, func() bool {
		var err error
		st, err = c.nodes[lag].d.Stats(context.Background())
		require.NoError(t, err)
		received, sent = c.nodes[lag].tr.Stats().SnapshotsReceived, 0
		for _, n := range c.nodes {
			sent += n.tr.Stats().SnapshotsSent
		}
		return st.Installed >= 1 && received >= 1 && sent >= 1
	}, func() string {
		return fmt.Sprintf("not caught up by snapshot: %+v, streams received %d, sent %d", st, received, sent)
	})
	require.GreaterOrEqual(t, c.nodes[lag].fsm.Restores(), 1)
	staged, err := filepath.Glob(filepath.Join(c.root, string(lag), "staging", "*"))
	require.NoError(t, err)
	require.Empty(t, staged, "staged snapshot files removed after install")
}

// poll checks cond every millisecond until it holds or timeout passes.
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
