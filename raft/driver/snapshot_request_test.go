package driver_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
)

// With the threshold out of reach, snapshots happen only on request, and
// a request takes one only once minEntries were applied since the last.
func TestHandlerRequestSnapshot(t *testing.T) {
	r := singleLeader(t, func(c *driver.Config) {
		c.SnapshotThreshold = driver.SnapshotThresholdNever
		c.TrailingLogs = 4
	})
	proposeN(t, r, 30, "c")
	require.Zero(t, r.h.Stats().Snapshots, "no automatic snapshot")

	require.False(t, r.h.RequestSnapshot(100), "fewer entries than asked")
	require.True(t, r.h.RequestSnapshot(10))
	require.False(t, r.h.RequestSnapshot(1), "one in progress")
	r.settle()
	require.Equal(t, uint64(1), r.h.Stats().Snapshots)
	applied := r.h.Status().Applied
	require.Equal(t, applied, r.log.Snapshot().Index, "recorded in the log")
	require.Equal(t, applied-4+1, r.log.FirstIndex(), "compacted to TrailingLogs")

	require.False(t, r.h.RequestSnapshot(1), "nothing applied since")
	proposeN(t, r, 3, "d")
	require.False(t, r.h.RequestSnapshot(5))
	require.True(t, r.h.RequestSnapshot(3))
	r.settle()
	require.Equal(t, uint64(2), r.h.Stats().Snapshots)

	// A restart restores from the requested snapshot.
	want := r.fsm.Commands()
	r.h.Stop()
	r.fsm = &drivertest.FSM{}
	r.start(t)
	require.Equal(t, 1, r.fsm.Restores())
	require.NoError(t, r.h.Campaign())
	r.settle()
	require.Equal(t, want, r.fsm.Commands())
}
