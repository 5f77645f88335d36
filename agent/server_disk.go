package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/wal"
)

// startDiskServer starts a server whose Raft log and snapshots live in
// dataDir/raft (wal on the real filesystem), so a restart keeps all data.
// An empty log is bootstrapped as a single-server cluster when bootstrap
// is set (-bootstrap); joining others (-bootstrap-expect) needs the gossip
// layer and the TCP transport.
func startDiskServer(cfg serverConfig, dataDir string, bootstrap bool) (*server, error) {
	dir := filepath.Join(dataDir, "raft")
	l, err := wal.Open(vfs.OS{}, filepath.Join(dir, "wal"), walConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("agent: open raft log: %w", err)
	}
	snaps, err := wal.OpenSnapshotStore(vfs.OS{}, filepath.Join(dir, "snapshots"), 2)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("agent: open snapshots: %w", err)
	}
	hs, snap, err := l.InitialState()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("agent: read raft state: %w", err)
	}
	if hs.IsEmpty() && snap.IsEmpty() && l.LastIndex() == 0 {
		if !bootstrap {
			l.Close()
			return nil, errors.New("agent: empty data dir and no -bootstrap: multi-server bootstrap (-bootstrap-expect) is not implemented yet")
		}
		conf := raft.Configuration{Servers: []raft.Server{{ID: cfg.id, Address: cfg.addr, Suffrage: raft.Voter}}}
		if err := driver.Bootstrap(l, conf); err != nil {
			l.Close()
			return nil, fmt.Errorf("agent: bootstrap: %w", err)
		}
	}
	s, err := startServer(cfg, l, driver.WALSnapshots(snaps), nopTransport{})
	if err != nil {
		l.Close()
		return nil, err
	}
	if bootstrap {
		// The only voter: elect now rather than after an election timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.drv.Campaign(ctx); err != nil {
			s.log.Warn("campaign failed; waiting for the election timeout", "error", err)
		}
	}
	return s, nil
}

// walConfig is wal.DefaultConfig with raft_logstore.wal.segment_size_mb.
func walConfig(cfg serverConfig) wal.Config {
	w := wal.DefaultConfig()
	if cfg.walSegmentMB > 0 {
		w.SegmentBytes = int64(cfg.walSegmentMB) << 20
	}
	w.Logger = cfg.log
	return w
}

// loadNodeID returns the node ID persisted in dataDir/node-id, writing
// want (or a new random UUID) there on first start. A configured ID that
// differs from the persisted one is an error: Raft IDs are never reused.
func loadNodeID(dataDir, want string) (string, error) {
	p := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if want != "" && !strings.EqualFold(want, id) {
			return "", fmt.Errorf("agent: node_id %q differs from %q persisted in %s", want, id, p)
		}
		return id, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("agent: read node id: %w", err)
	}
	id := want
	if id == "" {
		id = newUUID()
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("agent: create data dir: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("agent: write node id: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("agent: write node id: %w", err)
	}
	return id, nil
}
