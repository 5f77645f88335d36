package agent

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

// TestRaftTransferLeader: the official client's RaftLeaderTransfer, sent
// to a follower (forwarded) with no id, then to the new leader with an
// explicit id, moves leadership each time before it answers; bad ids are
// refused.
func TestRaftTransferLeader(t *testing.T) {
	t.Parallel()
	agents := startTestCluster(t, 3)
	lead := leaderOf(t, agents)
	follower := followerOf(agents, lead)
	leaderID := func(c *api.Client) string {
		cfg, err := c.Operator().RaftGetConfiguration(&api.QueryOptions{RequireConsistent: true})
		require.NoError(t, err)
		for _, s := range cfg.Servers {
			if s.Leader {
				return s.ID
			}
		}
		return ""
	}
	fc := apiClient(t, follower)
	res, err := fc.Operator().RaftLeaderTransfer("", nil)
	require.NoError(t, err)
	require.True(t, res.Success)
	require.NotEqual(t, raft.Leader, lead.srv.drv.Leader().Role, "the old leader no longer leads when the answer comes")

	next := leaderOf(t, agents)
	target := lead // hand it back to the first leader, by id
	nc := apiClient(t, next)
	res, err = nc.Operator().RaftLeaderTransfer(string(target.srv.id), nil)
	require.NoError(t, err)
	require.True(t, res.Success)
	waitFor(t, 5*time.Second, func() bool { return leaderID(nc) == string(target.srv.id) }, "leadership back on the first leader")

	_, err = fc.Operator().RaftLeaderTransfer("no-such-id", nil)
	require.ErrorContains(t, err, "was not found in the Raft configuration")
}
