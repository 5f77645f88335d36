package agent

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
)

// TestAgentMetrics: the official client decodes /v1/agent/metrics; the
// blocking-query wakeup counter is there and counts a wake; Prometheus'
// format is refused (415, Consul's text) until
// telemetry.prometheus_retention_time is set, then served.
func TestAgentMetrics(t *testing.T) {
	t.Parallel()
	a := startAgentWith(t, func(c *config.Config) { c.DisableHostname = true })
	c := apiClient(t, a)
	gauge := func() map[string]float32 {
		m, err := c.Agent().Metrics()
		require.NoError(t, err)
		require.NotEmpty(t, m.Timestamp)
		out := map[string]float32{}
		for _, g := range m.Gauges {
			out[g.Name] = g.Value
		}
		return out
	}
	before := gauge()
	require.Equal(t, float32(1), before["consul.server.isLeader"])
	require.Positive(t, before["consul.runtime.num_goroutines"])
	require.Positive(t, before["consul.raft.applied_index"])

	_, err := c.KV().Put(&api.KVPair{Key: "m", Value: []byte("1")}, nil)
	require.NoError(t, err)
	_, meta, err := c.KV().Get("m", nil)
	require.NoError(t, err)
	woke := make(chan error, 1)
	go func() {
		_, _, err := c.KV().Get("m", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		woke <- err
	}()
	waitFor(t, 5*time.Second, func() bool { return gauge()["agentd.store.watches_added"] > before["agentd.store.watches_added"] }, "the watch registered")
	_, err = c.KV().Put(&api.KVPair{Key: "m", Value: []byte("2")}, nil)
	require.NoError(t, err)
	require.NoError(t, <-woke)
	require.Greater(t, gauge()["agentd.store.wakeups"], before["agentd.store.wakeups"])

	get := func(a *Agent) (int, string) {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/metrics?format=prometheus")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(a)
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	require.Equal(t, "Prometheus is not enabled since its retention time is not positive", body)

	p := startAgentWith(t, func(c *config.Config) { c.PrometheusRetention = time.Minute })
	code, body = get(p)
	require.Equal(t, http.StatusOK, code)
	host, err := os.Hostname()
	require.NoError(t, err)
	name := promName("consul." + host + ".raft.applied_index")
	require.Contains(t, body, "# TYPE "+name+" gauge\n"+name+" ", "the host name is in a gauge's name by default")
	require.Contains(t, body, "\nagentd_store_wakeups ")
	require.False(t, strings.Contains(body, "."+"store"), "names use '_'")
}
