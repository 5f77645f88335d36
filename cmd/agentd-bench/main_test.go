package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent"
	"github.com/agentd/agentd/agent/config"
)

// TestMain lets the test binary play the watch floor's server process.
func TestMain(m *testing.M) {
	if n, ok := floorServer(); ok {
		if err := runWatchFloorServer(n); err != nil {
			fail("agentd-bench: %v", err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWatchFloor runs the floor with a few watchers: every round must
// wake every watcher once (runWatchFloor fails otherwise).
func TestWatchFloor(t *testing.T) {
	require.NoError(t, runWatchFloor(options{watchers: 20, rounds: 3}))
}

func TestLatencyQuantiles(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, ms(i))
	}
	sorted := merge([]latencies{l[:50], l[50:]})
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, ms(1)}, {0.5, ms(51)}, {0.99, ms(100)}, {0.999, ms(100)}, {1, ms(100)},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, sorted.at(tt.q), "q=%v", tt.q)
	}
	require.Zero(t, latencies(nil).at(0.99))
}

// devAgent starts an in-process dev agent with unlimited connections per
// client and returns its HTTP address.
func devAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := dir + "/limits.json"
	require.NoError(t, os.WriteFile(cfgFile, []byte(`{"limits":{"http_max_conns_per_client":0}}`), 0o600))
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	flags := config.Register(fs)
	require.NoError(t, fs.Parse([]string{"-dev", "-config-file", cfgFile, "-client", "127.0.0.1", "-bind", "127.0.0.1",
		"-http-port", "0", "-serf-lan-port", "0", "-server-port", "0", "-log-level", "error"}))
	cfg, _, err := flags.Load()
	require.NoError(t, err)
	a, err := agent.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	return a.HTTPAddr()
}

// TestModesAgainstDevAgent runs every mode briefly against a real agent:
// the counts it reports are the ones the benchmark figures rest on.
func TestModesAgainstDevAgent(t *testing.T) {
	addr := devAgent(t)
	base := options{addrs: []string{addr}, clients: 4, duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond,
		valueSize: 64, keys: 50, prefix: "t/"}
	for _, op := range []string{"put", "get", "get-consistent", "get-stale"} {
		t.Run(op, func(t *testing.T) {
			o := base
			o.op = op
			res, err := runLoad(o)
			require.NoError(t, err)
			require.Zero(t, res.errors)
			require.Positive(t, res.ops)
		})
	}
	t.Run("unknown op", func(t *testing.T) {
		o := base
		o.op = "scan"
		_, err := runLoad(o)
		require.ErrorContains(t, err, "unknown -op")
	})
	t.Run("watch", func(t *testing.T) {
		o := base
		o.watchers, o.watchKeys, o.rounds = 40, 4, 3
		res, err := runWatch(o)
		require.NoError(t, err)
		require.Equal(t, 40*3, res.wakes)
		require.Zero(t, res.spurious)
	})
	t.Run("idle-watch", func(t *testing.T) {
		o := base
		o.watchers, o.writes = 20, 200
		res, err := runIdleWatch(o)
		require.NoError(t, err)
		require.Equal(t, idleResult{controlWakes: 20}, res)
	})
	t.Run("fsync", func(t *testing.T) {
		o := base
		o.dir, o.fsyncs = t.TempDir(), 5
		require.NoError(t, runFsync(o))
	})
}
