package check

import "github.com/agentd/agentd/raft"

// Sending checks, as message m leaves node id, that what m vouches for is
// already durable there (Figure 2: "updated on stable storage before
// responding to RPCs"). The durable view is what id last reported
// durable (Persisted, SnapshotInstalled) or recovered (Restarted), never
// its in-memory core, so a message that left ahead of its write is caught
// even if no crash follows:
//
//   - MsgVote for term T: the candidate's own vote is durable (term > T,
//     or term T and vote for itself); else a restart could vote again.
//   - granted MsgVoteResp for term T to C: term > T, or term T and vote C;
//     else a crash could let id grant a second vote in T.
//   - accepted MsgAppResp at index i in term T: term >= T and, if the
//     durable term is T, the durable log reaches i; the leader counts it
//     towards a commit quorum.
//   - accepted MsgHeartbeatResp in term T: term >= T (it confirms
//     leadership for ReadIndex).
//
// Other messages vouch for nothing durable (pre-votes, rejections, a
// leader's own appends).
func (c *Cluster) Sending(id raft.NodeID, m *raft.Message) {
	nd := c.node(id)
	hs := nd.hs
	switch m.Type {
	case raft.MsgVote:
		if hs.Term < m.Term || hs.Term == m.Term && hs.Vote != id {
			c.Fail(DurableBeforeSend, "%s sent MsgVote for term %d but its durable hard state is term %d vote %q", id, m.Term, hs.Term, hs.Vote)
		}
	case raft.MsgVoteResp:
		if m.Reject {
			return
		}
		if hs.Term < m.Term || hs.Term == m.Term && hs.Vote != m.To {
			c.Fail(DurableBeforeSend, "%s granted its vote in term %d to %s but its durable hard state is term %d vote %q", id, m.Term, m.To, hs.Term, hs.Vote)
		}
		c.granted(id, m.To, m.Term)
	case raft.MsgAppResp:
		if m.Reject {
			return
		}
		// Once a later term is durable the index cannot be judged: the
		// driver writes several Readies at once, and a later term's
		// entries in the same write may replace the suffix this ack
		// vouched for, as if the ack had left before that write (within
		// one term a follower never truncates what it acknowledged).
		if hs.Term < m.Term || hs.Term == m.Term && nd.lastIndex < m.Index {
			c.Fail(DurableBeforeSend, "%s acknowledged index %d in term %d to %s but its durable state is term %d, last index %d", id, m.Index, m.Term, m.To, hs.Term, nd.lastIndex)
		}
	case raft.MsgHeartbeatResp:
		if !m.Reject && hs.Term < m.Term {
			c.Fail(DurableBeforeSend, "%s answered a heartbeat in term %d to %s but its durable term is %d", id, m.Term, m.To, hs.Term)
		}
	}
}
