package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBootstrapServerRestartKeepsData: a -server -bootstrap agent keeps its
// node ID, KV data and sessions across a restart from its data dir.
func TestBootstrapServerRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.DevMode = false
	// A -bootstrap server runs gossip and the server RPC: free ports.
	cfg.Ports.SerfLAN, cfg.Ports.Server = freePort(t), freePort(t)
	cfg.DataDir = dir
	start := func() *Agent {
		a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, a.srv.waitReadyLeader(ctx))
		return a
	}
	a := start()
	id := a.nodeID
	code, _, _ := do(t, http.MethodPut, a.url("/v1/kv/keep"), strings.NewReader("me"))
	require.Equal(t, 200, code)
	require.NoError(t, a.Shutdown(context.Background()))

	a = start()
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	require.Equal(t, id, a.nodeID)
	code, _, body := do(t, http.MethodGet, a.url("/v1/kv/keep?raw"), nil)
	require.Equal(t, 200, code)
	require.Equal(t, "me", body)

	cfg.NodeID = "00000000-0000-0000-0000-000000000001"
	_, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "differs")
}
