package check

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

func TestSending(t *testing.T) {
	// n1's durable view: term 5, vote n2, log through index 10.
	durable := func() *Cluster {
		c := New()
		ents := []raft.Entry{{Index: 10, Term: 4}}
		c.Persisted("n1", raft.HardState{Term: 5, Vote: "n2", Commit: 3}, ents, raft.NewMemoryStorage(), false, 0)
		return c
	}
	tests := []struct {
		name string
		m    raft.Message
		fail bool
	}{
		{"vote grant for the durable vote", raft.Message{Type: raft.MsgVoteResp, To: "n2", Term: 5}, false},
		{"vote grant to another candidate", raft.Message{Type: raft.MsgVoteResp, To: "n3", Term: 5}, true},
		{"vote grant in a term not yet durable", raft.Message{Type: raft.MsgVoteResp, To: "n2", Term: 6}, true},
		{"vote grant for an earlier term", raft.Message{Type: raft.MsgVoteResp, To: "n3", Term: 4}, false},
		{"vote rejection", raft.Message{Type: raft.MsgVoteResp, To: "n3", Term: 6, Reject: true}, false},
		{"own vote request, vote not for self", raft.Message{Type: raft.MsgVote, To: "n2", Term: 5}, true},
		{"own vote request, term not durable", raft.Message{Type: raft.MsgVote, To: "n2", Term: 6}, true},
		{"append ack within the durable log", raft.Message{Type: raft.MsgAppResp, To: "n2", Term: 5, Index: 10}, false},
		{"append ack past the durable log", raft.Message{Type: raft.MsgAppResp, To: "n2", Term: 5, Index: 11}, true},
		{"append ack of an earlier term, suffix replaced since", raft.Message{Type: raft.MsgAppResp, To: "n2", Term: 4, Index: 11}, false},
		{"append ack in a term not yet durable", raft.Message{Type: raft.MsgAppResp, To: "n2", Term: 6, Index: 9}, true},
		{"append rejection", raft.Message{Type: raft.MsgAppResp, To: "n2", Term: 6, Index: 20, Reject: true}, false},
		{"heartbeat reply in the durable term", raft.Message{Type: raft.MsgHeartbeatResp, To: "n2", Term: 5, Index: 30}, false},
		{"heartbeat reply in a term not yet durable", raft.Message{Type: raft.MsgHeartbeatResp, To: "n2", Term: 6}, true},
		{"pre-vote grant vouches nothing", raft.Message{Type: raft.MsgPreVoteResp, To: "n3", Term: 9}, false},
		{"leader append vouches nothing", raft.Message{Type: raft.MsgApp, To: "n3", Term: 9, Index: 50}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := durable()
			c.Sending("n1", &tt.m)
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, DurableBeforeSend, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}

func TestSendingOwnVote(t *testing.T) {
	c := New()
	c.Persisted("n1", raft.HardState{Term: 7, Vote: "n1"}, nil, nil, false, 0)
	c.Sending("n1", &raft.Message{Type: raft.MsgVote, To: "n2", Term: 7})
	require.NoError(t, c.Err())
}
