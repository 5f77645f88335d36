package jepsen

import (
	"errors"

	"github.com/agentd/agentd/raft"
)

// checkCommittedDurable feeds check.CommittedDurable as n applies e, the
// first node to apply its index. The configurations that may be in force
// are the last committed one, the current leader's latest and n's latest
// (changes take effect on append, so the leader that committed e may have
// counted in an uncommitted one). A running voter holds e if its WAL does
// (every disk job writes and syncs in one event, so the WAL holds only
// durable entries between events; compacted counts); a voter that is down
// is judged by what it last reported durable.
func (c *cluster) checkCommittedDurable(n *node, e *raft.Entry) {
	confs := [][]raft.NodeID{c.confVoters, n.voters()}
	if l := c.leader(); l != nil && l != n {
		confs = append(confs, l.voters())
	}
	holds := func(id raft.NodeID) bool {
		m := c.byID[id]
		if m == nil {
			return false
		}
		if m.log == nil {
			return c.check.MayHoldDurable(id, e.Index)
		}
		t, err := m.log.Term(e.Index)
		return err == nil && t == e.Term || errors.Is(err, raft.ErrCompacted)
	}
	c.check.CommittedDurable(e.Index, e.Term, confs, holds)
}
