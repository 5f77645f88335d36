package check

import (
	"github.com/agentd/agentd/raft"
)

// LogShape checks node id's durable log as a whole, after a snapshot
// install or a restart replaced or reread it (the per-write checks see only
// the entries a write carried, not what a snapshot install kept or a
// recovery brought back): from the snapshot's term on, terms never
// decrease, and each entry follows the term it follows on every node that
// made it durable (log matching, by terms).
func (c *Cluster) LogShape(id raft.NodeID, s raft.Storage) {
	first, last := s.FirstIndex(), s.LastIndex()
	prev, err := s.Term(first - 1)
	if err != nil {
		c.Fail(InternalError, "%s: term of %d (first index %d): %v", id, first-1, first, err)
		return
	}
	for i := first; i <= last; i++ {
		t, err := s.Term(i)
		if err != nil {
			c.Fail(InternalError, "%s: term of %d (log [%d, %d]): %v", id, i, first, last, err)
			return
		}
		if t < prev {
			c.Fail(LogMatching, "%s: durable entry %d has term %d after term %d (log [%d, %d], snapshot %d)",
				id, i, t, prev, first, last, s.Snapshot().Index)
			return
		}
		if de, ok := c.durable[indexTerm{i, t}]; ok && de.prevTerm != 0 && prev != 0 && de.prevTerm != prev {
			c.Fail(LogMatching, "%s: durable entry %d/%d follows term %d, elsewhere term %d (log [%d, %d], snapshot %d)",
				id, i, t, prev, de.prevTerm, first, last, s.Snapshot().Index)
			return
		}
		prev = t
	}
}
