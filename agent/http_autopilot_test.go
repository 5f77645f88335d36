package agent

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// TestAutopilotConfigurationAPI: the leader seeds the configuration from
// the config file with Consul's defaults; the official client reads it,
// sets it, and check-and-sets it (a stale index is false and changes
// nothing).
func TestAutopilotConfigurationAPI(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	op := apiClient(t, a).Operator()
	var conf *api.AutopilotConfiguration
	waitFor(t, 5*time.Second, func() bool {
		var err error
		conf, err = op.AutopilotGetConfiguration(nil)
		return err == nil
	}, "the seeded configuration")
	require.True(t, conf.CleanupDeadServers)
	require.Equal(t, 200*time.Millisecond, conf.LastContactThreshold.Duration())
	require.Equal(t, uint64(250), conf.MaxTrailingLogs)
	require.Equal(t, 10*time.Second, conf.ServerStabilizationTime.Duration())
	require.Positive(t, conf.ModifyIndex)

	ok, err := op.AutopilotCASConfiguration(&api.AutopilotConfiguration{CleanupDeadServers: false, ModifyIndex: conf.ModifyIndex - 1}, nil)
	require.NoError(t, err)
	require.False(t, ok)
	again, err := op.AutopilotGetConfiguration(nil)
	require.NoError(t, err)
	require.True(t, again.CleanupDeadServers, "a failed CAS changes nothing")

	ok, err = op.AutopilotCASConfiguration(&api.AutopilotConfiguration{CleanupDeadServers: false, MinQuorum: 3,
		LastContactThreshold: api.NewReadableDuration(time.Second), ModifyIndex: conf.ModifyIndex}, nil)
	require.NoError(t, err)
	require.True(t, ok)
	again, err = op.AutopilotGetConfiguration(nil)
	require.NoError(t, err)
	require.False(t, again.CleanupDeadServers)
	require.Equal(t, uint(3), again.MinQuorum)
	require.Equal(t, time.Second, again.LastContactThreshold.Duration())
	require.Equal(t, conf.CreateIndex, again.CreateIndex)
	require.Greater(t, again.ModifyIndex, conf.ModifyIndex)

	require.NoError(t, op.AutopilotSetConfiguration(&api.AutopilotConfiguration{CleanupDeadServers: true}, nil))
	again, err = op.AutopilotGetConfiguration(nil)
	require.NoError(t, err)
	require.True(t, again.CleanupDeadServers)
	require.Zero(t, again.MaxTrailingLogs, "a set replaces the whole configuration, as Consul's")

	code, _, body := do(t, http.MethodPut, a.url("/v1/operator/autopilot/configuration?cas=x"), nil)
	require.Equal(t, http.StatusBadRequest, code, body)
}

// TestAutopilotHealthAPI: on a three-server cluster, health and state
// (asked of a follower, answered by the leader) list every server healthy,
// with the leader marked and a failure tolerance of 1; a failed server
// makes /health answer 429 and unhealthy.
func TestAutopilotHealthAPI(t *testing.T) {
	t.Parallel()
	agents := startTestCluster(t, 3)
	lead := leaderOf(t, agents)
	follower := followerOf(agents, lead)
	op := apiClient(t, follower).Operator()
	var h *api.OperatorHealthReply
	waitFor(t, 10*time.Second, func() bool {
		var err error
		h, err = op.AutopilotServerHealth(nil)
		return err == nil && h.Healthy
	}, "a healthy cluster")
	require.Len(t, h.Servers, 3)
	require.Equal(t, 1, h.FailureTolerance)
	leaders := 0
	for _, s := range h.Servers {
		require.True(t, s.Healthy, s.Name)
		require.Equal(t, "alive", s.SerfStatus)
		require.True(t, s.Voter)
		if s.Leader {
			leaders++
			require.Equal(t, lead.cfg.NodeName, s.Name)
		}
	}
	require.Equal(t, 1, leaders)

	st, err := op.AutopilotState(nil)
	require.NoError(t, err)
	require.True(t, st.Healthy)
	require.Len(t, st.Servers, 3)
	require.Len(t, st.Voters, 3)
	require.Equal(t, string(lead.srv.id), st.Leader)
	require.Equal(t, api.AutopilotServerStatus("leader"), st.Servers[string(lead.srv.id)].Status)

	follower.Shutdown(t.Context())
	lc := apiClient(t, lead).Operator()
	waitFor(t, 30*time.Second, func() bool {
		h, err := lc.AutopilotServerHealth(nil)
		return err == nil && !h.Healthy // the client turns 429 into a reply
	}, "the stopped server unhealthy")
	code, _, _ := do(t, http.MethodGet, lead.url("/v1/operator/autopilot/health"), nil)
	require.Equal(t, http.StatusTooManyRequests, code)
}
