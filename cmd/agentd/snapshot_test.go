package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent"
)

// TestSnapshotAppendFilename: snapshot save -append-filename adds the
// agent's version, datacenter and node name before the extension.
func TestSnapshotAppendFilename(t *testing.T) {
	addr := startAgent(t)
	dir := t.TempDir()
	for _, tc := range []struct{ list, want string }{
		{"version,dc", "backup-" + agent.Version + "-dc1.snap"},
		{"dc", "backup-dc1.snap"},
		{"node,dc", "backup-dc1-cli-node.snap"},
	} {
		code, out, errOut := runCmd(t, "", "snapshot", "save", "-http-addr", addr, "-append-filename", tc.list, filepath.Join(dir, "backup.snap"))
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "Saved and verified snapshot to index")
		_, err := os.Stat(filepath.Join(dir, tc.want))
		require.NoError(t, err, tc.list)
	}
}
