package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// TestBanner: Consul's start banner, and "==> Consul agent running!"
// once the HTTP port accepts connections (before the agent has started:
// a server waiting for its peers already serves HTTP), printed once.
func TestBanner(t *testing.T) {
	var out syncBuffer
	cfg := config.Dev()
	cfg.NodeName = "b1"
	printBanner(&out, cfg)
	require.True(t, strings.HasPrefix(out.String(), "==> Starting Consul agent...\n"))
	require.Contains(t, out.String(), "             Node name: 'b1'\n")
	require.Contains(t, out.String(), "                Server: true (Bootstrap: true)\n")
	require.NotContains(t, out.String(), "running")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg.Ports.HTTP = ln.Addr().(*net.TCPAddr).Port
	cfg.ClientAddr = "0.0.0.0" // dialled on loopback
	r := &runningLine{w: &out}
	stop := make(chan struct{})
	defer close(stop)
	r.watchHTTP(cfg, stop)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "==> Consul agent running!\n") {
		require.False(t, time.Now().After(deadline), "no running line: %q", out.String())
		time.Sleep(10 * time.Millisecond)
	}
	r.print() // the agent started: not printed again
	require.Equal(t, 1, strings.Count(out.String(), "running!"))

	// An HTTP port chosen at listen (0) or off (-1) is not watched: the
	// line waits for the agent to have started.
	for _, port := range []int{0, -1} {
		var quiet syncBuffer
		cfg.Ports.HTTP = port
		r := &runningLine{w: &quiet}
		stop := make(chan struct{})
		r.watchHTTP(cfg, stop)
		require.Empty(t, quiet.String())
		close(stop)
		r.print()
		require.Equal(t, "==> Consul agent running!\n", quiet.String())
	}
}
