package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/swim"
	"github.com/agentd/agentd/wal"
)

// A server removed from the Raft configuration (the leader's dead-server
// cleanup while it was down, or a leave) cannot come back under its old
// Raft ID: IDs are never reused (raft/confchange.go). Consul lets it
// rejoin; agentd gets the same effect by having it rejoin as a new server:
// on start, if the leader's configuration does not name it, it empties its
// Raft state (the cluster has all of it) and takes a new node ID, and the
// leader adds it like any new server.

// rejoinProbe bounds how long a restarting server looks for a leader to
// tell it whether it is still a member; without an answer it starts as it
// was.
const rejoinProbe = 5 * time.Second

// raftStorage is a server's opened Raft log and snapshot store.
type raftStorage struct {
	log       *wal.Log
	snaps     *wal.SnapshotStore
	lastIndex raft.Index
	empty     bool // no hard state, snapshot or entry: never bootstrapped
}

// openRaftStorage opens dataDir/raft/{wal,snapshots}.
func openRaftStorage(dataDir string, scfg serverConfig) (raftStorage, error) {
	dir := filepath.Join(dataDir, "raft")
	l, err := wal.Open(vfs.OS{}, filepath.Join(dir, "wal"), walConfig(scfg))
	if err != nil {
		return raftStorage{}, fmt.Errorf("agent: open raft log: %w", err)
	}
	snaps, err := wal.OpenSnapshotStore(vfs.OS{}, filepath.Join(dir, "snapshots"), 2)
	if err != nil {
		l.Close()
		return raftStorage{}, fmt.Errorf("agent: open snapshots: %w", err)
	}
	hs, snap, err := l.InitialState()
	if err != nil {
		l.Close()
		return raftStorage{}, fmt.Errorf("agent: read raft state: %w", err)
	}
	last := l.LastIndex()
	return raftStorage{log: l, snaps: snaps, lastIndex: last, empty: hs.IsEmpty() && snap.IsEmpty() && last == 0}, nil
}

// removedFromCluster asks the servers in the gossip pool, for at most
// rejoinProbe, and reports whether the leader answered with a
// configuration that does not name this server. Only the leader's
// configuration counts (a lagging follower's may predate our addition).
// It gives up early, answering false, once every other alive server
// answered and none leads (a cluster without a leader is not one that
// removed us: if it needs us for its quorum, we are still a member), or
// when there is nobody to ask.
func (a *Agent) removedFromCluster(ctx context.Context, c *cluster) bool {
	deadline := time.Now().Add(rejoinProbe)
	for {
		answered, others := 0, 0
		for _, m := range c.gossip.Members() {
			if m.Name == a.cfg.NodeName || m.Status != swim.StatusAlive || m.Tags["role"] != "consul" || m.Tags["dc"] != a.cfg.Datacenter {
				continue
			}
			others++
			host, _, err := net.SplitHostPort(m.Addr)
			if err != nil || m.Tags["port"] == "" {
				continue
			}
			st, err := a.peerState(ctx, c, net.JoinHostPort(host, m.Tags["port"]))
			if err != nil {
				continue
			}
			answered++
			if st.ID == raft.None || st.Leader != st.ID || len(st.Servers) == 0 {
				continue
			}
			for _, s := range st.Servers {
				if strings.EqualFold(string(s.ID), a.nodeID) {
					return false
				}
			}
			a.log.Warn("the leader's Raft configuration does not name this server: it was removed (dead-server cleanup or a leave)",
				"leader", m.Name, "id", a.nodeID)
			return true
		}
		alone := others == 0 && (len(a.cfg.RetryJoin) == 0 || c.gossip.Joined())
		if (others > 0 && answered == others) || alone || time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-a.stopc:
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rejoinAsNewServer empties this removed server's Raft state, gives it a
// new node ID (persisted, announced in the gossip tags) and returns the
// fresh storage. A node_id fixed by configuration cannot change: that is
// an error naming the way out.
func (a *Agent) rejoinAsNewServer(c *cluster, scfg *serverConfig, st raftStorage, port string) (raftStorage, error) {
	if err := st.log.Close(); err != nil {
		return raftStorage{}, fmt.Errorf("agent: close raft log: %w", err)
	}
	if a.cfg.NodeID != "" {
		return raftStorage{}, fmt.Errorf("agent: this server (node_id %s) was removed from the Raft configuration and Raft IDs are never reused; "+
			"node_id is set in the configuration: remove it or set a new one, empty %s, and start again", a.cfg.NodeID, filepath.Join(a.cfg.DataDir, "raft"))
	}
	dir := filepath.Join(a.cfg.DataDir, "raft")
	for _, sub := range []string{"wal", "snapshots"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return raftStorage{}, fmt.Errorf("agent: empty raft state: %w", err)
		}
	}
	id, err := resetNodeID(a.cfg.DataDir)
	if err != nil {
		return raftStorage{}, err
	}
	a.log.Warn("rejoining as a new server with empty Raft state", "old_id", a.nodeID, "new_id", id)
	a.nodeID = id
	scfg.id = raft.NodeID(id)
	if err := c.gossip.SetTags(a.serverTags(port)); err != nil {
		return raftStorage{}, fmt.Errorf("agent: gossip tags: %w", err)
	}
	fresh, err := openRaftStorage(a.cfg.DataDir, *scfg)
	if err != nil {
		return raftStorage{}, err
	}
	if !fresh.empty {
		fresh.log.Close()
		return raftStorage{}, errors.New("agent: raft state not empty after emptying it")
	}
	return fresh, nil
}

// resetNodeID replaces the persisted node ID with a new random one.
func resetNodeID(dataDir string) (string, error) {
	if err := os.Remove(filepath.Join(dataDir, "node-id")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("agent: reset node id: %w", err)
	}
	return loadNodeID(dataDir, "")
}
