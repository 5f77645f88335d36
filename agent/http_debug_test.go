package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// enable_debug serves Go's profiler under /debug/pprof/, as Consul does;
// off (the default) those paths are 404.
func TestEnableDebug(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "debug.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"enable_debug":true}`), 0o600))
	cfg, _, err := config.Load(true, []string{path}, nil)
	require.NoError(t, err)
	require.True(t, cfg.EnableDebug, "the enable_debug key")

	for _, tc := range []struct {
		name string
		on   bool
		want int
	}{
		{"off", false, 404},
		{"on", true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			c.EnableDebug = tc.on
			a, err := New(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.NoError(t, err)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a.Shutdown(ctx)
			})
			for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
				code, _, _ := do(t, "GET", a.url(p), nil)
				require.Equal(t, tc.want, code, p)
			}
		})
	}
}
