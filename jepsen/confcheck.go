package jepsen

import "github.com/agentd/agentd/raft"

// The one-change-at-a-time checker (check.ConfigEntries) follows the
// configuration entries of every durable log: those of each write
// (node.go, TracePersist), and the whole WAL's after a restart or a
// snapshot install.

// confEntries lists the indexes of the configuration entries in n's WAL
// (for check.ConfigEntries after a restart or a snapshot install).
func (n *node) confEntries() []raft.Index {
	first, last := n.log.FirstIndex(), n.log.LastIndex()
	if first > last {
		return nil
	}
	ents, err := n.log.Entries(first, last+1, 1<<62)
	if err != nil {
		n.c.check.Fail("internal-error", "%s: read log [%d,%d]: %v", n.id, first, last, err)
		return nil
	}
	return confIndexes(ents)
}

func confIndexes(ents []raft.Entry) []raft.Index {
	var idx []raft.Index
	for i := range ents {
		if ents[i].Type == raft.EntryConfig {
			idx = append(idx, ents[i].Index)
		}
	}
	return idx
}

// checkConfigTerms feeds check.ConfigAppended with each configuration
// entry among ents, just written to n's WAL, and the first index of its
// term in that log (0 once the walk back reaches the snapshot).
func (n *node) checkConfigTerms(ents []raft.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Type != raft.EntryConfig {
			continue
		}
		start := e.Index
		for start > 1 {
			t, err := n.log.Term(start - 1)
			if err != nil {
				start = 0 // compacted: in the snapshot, so committed
				break
			}
			if t != e.Term {
				break
			}
			start--
		}
		n.c.check.ConfigAppended(n.id, e.Index, e.Term, start)
	}
}
