package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// testConfig is -dev on an ephemeral HTTP port, with a short minimum
// session TTL so that expiry is observable in a test.
func testConfig() config.Config {
	c := config.Dev()
	c.NodeName = "test-node"
	c.Ports.HTTP = 0
	c.SessionTTLMin = 100 * time.Millisecond
	c.LogLevel = "warn"
	// Each new WAL segment is zero-filled: 1 MiB instead of 64 keeps a
	// disk server's start cheap.
	c.RaftWALSegmentSizeMB = 1
	return c
}

// startAgent runs a dev agent for the test and waits until it serves
// leader reads.
func startAgent(t testing.TB) *Agent {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, fuzz := t.(*testing.F); !fuzz && testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	a := startLeading(t, testConfig(), log)
	// Sessions need the node registered by the leader's reconcile.
	waitFor(t, 5*time.Second, func() bool {
		_, n := a.store.Node(nil, a.cfg.NodeName)
		return n != nil
	}, "node registration")
	return a
}

// startLeading runs an agent with cfg, stops it at the test's end, and
// waits until it is the ready leader.
func startLeading(t testing.TB, cfg config.Config, log *slog.Logger) *Agent {
	t.Helper()
	a, err := New(cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, a.Shutdown(ctx))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, a.srv.waitReadyLeader(ctx))
	return a
}

func (a *Agent) url(path string) string { return "http://" + a.HTTPAddr() + path }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// do sends a raw request and returns status, headers and body.
func do(t testing.TB, method, url string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func urlQuery(s string) (url.Values, error) { return url.ParseQuery(s) }
