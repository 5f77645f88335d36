package check

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

func TestElectionQuorum(t *testing.T) {
	voters := []raft.NodeID{"n1", "n2", "n3", "n4", "n5"}
	// grant is a granted MsgVoteResp from voter to candidate in term.
	type grant struct {
		voter, candidate raft.NodeID
		term             raft.Term
	}
	tests := []struct {
		name   string
		grants []grant
		voters []raft.NodeID
		fail   bool
	}{
		{"majority of grants for the term", []grant{{"n2", "n1", 7}, {"n3", "n1", 7}}, voters, false},
		{"grant from an earlier term counted", []grant{{"n2", "n1", 7}, {"n3", "n1", 6}}, voters, true},
		{"grant to another candidate counted", []grant{{"n2", "n1", 7}, {"n3", "n4", 7}}, voters, true},
		{"one grant short (half is not a majority)", []grant{{"n2", "n1", 7}}, voters[:4], true},
		{"grant from a non-voter", []grant{{"n2", "n1", 7}, {"n6", "n1", 7}}, voters, true},
		{"duplicate grant counted twice", []grant{{"n2", "n1", 7}, {"n2", "n1", 7}}, voters, true},
		{"single voter elects itself", nil, voters[:1], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			for _, g := range tt.grants {
				c.Persisted(g.voter, raft.HardState{Term: g.term, Vote: g.candidate}, nil, nil, false, 0)
				c.Sending(g.voter, &raft.Message{Type: raft.MsgVoteResp, From: g.voter, To: g.candidate, Term: g.term})
			}
			require.NoError(t, c.Err())
			c.BecameLeader("n1", 7, tt.voters)
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, ElectionSafety, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}

func TestElectionTwoLeaders(t *testing.T) {
	c := New()
	for _, v := range []raft.NodeID{"n2", "n3"} {
		c.Persisted(v, raft.HardState{Term: 3, Vote: "n1"}, nil, nil, false, 0)
		c.Sending(v, &raft.Message{Type: raft.MsgVoteResp, From: v, To: "n1", Term: 3})
	}
	voters := []raft.NodeID{"n1", "n2", "n3"}
	c.BecameLeader("n1", 3, voters)
	c.BecameLeader("n1", 3, voters) // a repeated report is no second leader
	require.NoError(t, c.Err())
	c.BecameLeader("n2", 3, voters)
	require.Error(t, c.Err())
	require.Contains(t, c.Violation().Detail, "two leaders")
}
