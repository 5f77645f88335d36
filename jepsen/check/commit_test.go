package check

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

func TestCommittedDurable(t *testing.T) {
	three := []raft.NodeID{"n1", "n2", "n3"}
	four := []raft.NodeID{"n1", "n2", "n3", "n4"}
	tests := []struct {
		name    string
		confs   [][]raft.NodeID
		holders []raft.NodeID
		fail    bool
	}{
		{"majority durable", [][]raft.NodeID{three}, []raft.NodeID{"n1", "n2"}, false},
		{"leader's unsynced copy counted (§10.2.1)", [][]raft.NodeID{three}, []raft.NodeID{"n2"}, true},
		{"applied before the leader's own fsync, others a majority", [][]raft.NodeID{three}, []raft.NodeID{"n2", "n3"}, false},
		{"half of an even configuration", [][]raft.NodeID{four}, []raft.NodeID{"n1", "n2"}, true},
		{"non-voter copies do not count", [][]raft.NodeID{three}, []raft.NodeID{"n1", "n4", "n5"}, true},
		{"majority of the leader's uncommitted removal only", [][]raft.NodeID{four, three}, []raft.NodeID{"n1", "n2"}, false},
		{"majority of none of the configurations", [][]raft.NodeID{four, three}, []raft.NodeID{"n1", "n4"}, true},
		{"no configuration known", [][]raft.NodeID{nil}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			c.CommittedDurable(12, 3, tt.confs, func(id raft.NodeID) bool { return slices.Contains(tt.holders, id) })
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, CommitDurableQuorum, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}

func TestMayHoldDurable(t *testing.T) {
	c := New()
	// n1 made entries through 10 durable, then began writing from 8 on.
	c.Persisted("n1", raft.HardState{Term: 2}, []raft.Entry{{Index: 9, Term: 2}, {Index: 10, Term: 2}}, raft.NewMemoryStorage(), false, 0)
	require.True(t, c.MayHoldDurable("n1", 10))
	require.False(t, c.MayHoldDurable("n1", 11))
	c.Writing("n1", raft.HardState{}, 8, raft.NewMemoryStorage())
	require.True(t, c.MayHoldDurable("n1", 14), "a write in flight may survive a crash")
	require.False(t, c.MayHoldDurable("n2", 1), "a node that reported nothing holds nothing")
}
