package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentd/agentd/wal"
)

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
