package agent

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAgentSelfStatsGroups: /v1/agent/self Stats has the groups and keys
// `consul info` prints from a Consul server (agent, build, consul, raft,
// runtime, serf_lan), so tools that read them find them.
func TestAgentSelfStatsGroups(t *testing.T) {
	a := startAgent(t)
	code, _, body := do(t, "GET", a.url("/v1/agent/self"), nil)
	require.Equal(t, 200, code)
	var self struct{ Stats map[string]map[string]string }
	require.NoError(t, json.Unmarshal([]byte(body), &self))
	for group, keys := range map[string][]string{
		"agent":    {"check_monitors", "check_ttls", "checks", "services"},
		"build":    {"prerelease", "revision", "version", "version_metadata"},
		"consul":   {"acl", "bootstrap", "known_datacenters", "leader", "leader_addr", "server"},
		"raft":     {"applied_index", "commit_index", "fsm_pending", "last_contact", "last_log_index", "num_peers", "protocol_version", "protocol_version_max", "protocol_version_min", "snapshot_version_max", "snapshot_version_min", "state", "term"},
		"runtime":  {"arch", "cpu_count", "goroutines", "max_procs", "os", "version"},
		"serf_lan": {"coordinate_resets", "encrypted", "event_queue", "event_time", "failed", "health_score", "intent_queue", "left", "member_time", "members", "query_queue", "query_time"},
	} {
		for _, k := range keys {
			_, ok := self.Stats[group][k]
			require.True(t, ok, "Stats.%s.%s missing", group, k)
		}
	}
	require.Equal(t, "1", self.Stats["serf_lan"]["members"])
	require.Equal(t, "false", self.Stats["serf_lan"]["encrypted"])
	require.Equal(t, "disabled", self.Stats["consul"]["acl"])
	require.Equal(t, "Leader", self.Stats["raft"]["state"])
}
