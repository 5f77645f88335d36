package main

import (
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent"
	"github.com/agentd/agentd/agent/config"
)

// TestAgentFlagsReachSelf: a Consul test harness's -dev command line
// loads, and what it set shows in /v1/agent/self (Meta, DebugConfig,
// Config.PrimaryDatacenter) and on the node's catalog entry.
func TestAgentFlagsReachSelf(t *testing.T) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	flags := config.Register(fs)
	require.NoError(t, fs.Parse([]string{
		"-dev", "-log-level=debug", "-enable-script-checks", "-node-meta", "k:v", "-node-meta=rack:r1",
		"-hcl", `node_name = "flags-node"`, "-log-json", "-http-port", "0", "-client", "127.0.0.1",
		"-primary-datacenter", "dc0", "-domain", "example.", "-recursor", "8.8.8.8", "-rejoin",
		"-disable-keyring-file", "-retry-join-wan", "10.9.9.9", "-raft-protocol", "3", "-protocol=2",
		"-advertise-wan", "10.1.1.1",
	}))
	cfg, warnings, err := flags.Load()
	require.NoError(t, err)
	require.Len(t, warnings, 5, "domain, recursors, enable_script_checks, retry_join_wan, rejoin: %q", warnings)
	a, err := agent.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Shutdown(t.Context())) })

	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/self")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var self struct {
		Config      map[string]any
		DebugConfig map[string]any
		Meta        map[string]string
	}
	require.NoError(t, json.Unmarshal(b, &self))
	require.Equal(t, map[string]string{"k": "v", "rack": "r1"}, self.Meta)
	require.Equal(t, "dc0", self.Config["PrimaryDatacenter"])
	require.Equal(t, "flags-node", self.Config["NodeName"])
	for k, want := range map[string]any{
		"DNSDomain": "example.", "DNSRecursors": []any{"8.8.8.8"}, "RejoinAfterLeave": true,
		"EnableRemoteScriptChecks": true, "RetryJoinWAN": []any{"10.9.9.9"}, "RaftProtocol": 3.0,
		"DisableKeyringFile": true, "LogJSON": true, "NodeMeta": map[string]any{"k": "v", "rack": "r1"},
		"PrimaryDatacenter": "dc0", "SerfAdvertiseAddrWAN": "tcp://10.1.1.1:8302",
	} {
		require.Equal(t, want, self.DebugConfig[k], k)
	}
}

// TestAgentHarnessCommandLine runs `agentd agent` in-process with the
// command line a Consul test harness uses for a dev agent: it starts, logs
// JSON lines, prints Consul's running line, reports the node meta, and
// stops on an API leave.
func TestAgentHarnessCommandLine(t *testing.T) {
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(&env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, []string{
			"agent", "-dev", "-log-level=debug", "-enable-script-checks", "-node-meta", "k:v",
			"-hcl", `node_name = "harness"`, "-log-json", "-http-port", "0", "-client", "127.0.0.1",
			"-bind", "127.0.0.1", "-disable-keyring-file", "-rejoin", "-domain", "consul.",
		})
	}()
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["@message"] == "agent started" {
				addr, _ = m["http"].(string)
			}
		}
		require.False(t, time.Now().After(deadline), "agent did not start: %s", stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	require.Contains(t, stdout.String(), "==> Consul agent running!\n")
	require.Contains(t, stderr.String(), `"@level":"warn","@message":"config: \"enable_script_checks\" is accepted but has no effect`)

	resp, err := http.Get("http://" + addr + "/v1/agent/self")
	require.NoError(t, err)
	var self struct {
		Config struct{ NodeName string }
		Meta   map[string]string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&self))
	resp.Body.Close()
	require.Equal(t, "harness", self.Config.NodeName)
	require.Equal(t, map[string]string{"k": "v"}, self.Meta)

	leaveAndWait(t, addr, done, 15*time.Second)
}
