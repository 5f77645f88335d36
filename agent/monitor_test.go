package agent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAgentMonitor: the official client's Monitor streams the agent's log
// lines from then on, at the level asked (below the process handler's),
// including attributes of derived loggers; JSON on ?logjson; a bad level
// is a 400.
func TestAgentMonitor(t *testing.T) {
	t.Parallel()
	a := startAgent(t) // its own log handler discards everything
	c := apiClient(t, a)
	stop := make(chan struct{})
	defer close(stop)
	lines, err := c.Agent().Monitor("debug", stop, nil)
	require.NoError(t, err)
	waitFor(t, 5*time.Second, func() bool {
		a.monitors.mu.Lock()
		defer a.monitors.mu.Unlock()
		return len(a.monitors.set) == 1
	}, "the monitor registered")
	a.log.With("module", "test").Debug("monitor check", "n", 7)
	select {
	case l := <-lines:
		// hclog's line, as Consul's monitor writes it.
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[DEBUG\] agent\.test: monitor check: n="7"$`, l)
	case <-time.After(5 * time.Second):
		t.Fatal("no line")
	}

	stopJSON := make(chan struct{})
	defer close(stopJSON)
	js, err := c.Agent().MonitorJSON("info", stopJSON, nil)
	require.NoError(t, err)
	waitFor(t, 5*time.Second, func() bool {
		a.monitors.mu.Lock()
		defer a.monitors.mu.Unlock()
		return len(a.monitors.set) == 2
	}, "the JSON monitor registered")
	a.log.Debug("too low for info")
	a.log.Info("json line")
	select {
	case l := <-js:
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		require.Equal(t, "json line", m["@message"])
		require.Equal(t, "info", m["@level"])
		require.Equal(t, "agent", m["@module"])
	case <-time.After(5 * time.Second):
		t.Fatal("no JSON line")
	}

	_, err = c.Agent().Monitor("loud", make(chan struct{}), nil)
	require.ErrorContains(t, err, "Unknown log level")
}
