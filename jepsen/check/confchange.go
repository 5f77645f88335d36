package check

import (
	"slices"

	"github.com/agentd/agentd/raft"
)

// One configuration change at a time (§4.1): a leader appends a
// configuration entry only once every configuration entry in its log is
// committed. So no log ever holds two configuration entries above the
// highest index committed anywhere: if a log holds them at i < j, the
// leader that created j held the same prefix (log matching), so i was at
// or below that leader's commit index then, and the committed index seen
// by the checker only grows. It must be the cluster's, not the node's
// own: a follower's commit index lags, and it may legitimately hold two
// recent changes its leader committed one after the other.
//
// The highest committed index is learned from what the nodes say of it:
// the commit index of every durable hard state, of every message a
// leader sends, and every applied index. A leader appends a change only
// after committing an entry of its own term, whose commit it broadcasts
// (or writes) before the change can reach any durable log.
//
// Two changes in flight break single-server changes' safety: the latest
// configuration may then differ from the committed one by two servers,
// and the old and new majorities need not overlap. Other checkers see it
// only if that split is then exercised by an election on each side.

// CommittedAtLeast records that index i is known to be committed.
func (c *Cluster) CommittedAtLeast(i raft.Index) { c.commitHi = max(c.commitHi, i) }

// ConfigEntries records that node id's durable log was rewritten from
// index from on (0: the whole log, after a restart or a snapshot
// install), holding configuration entries at confs (ascending) in that
// range, and checks that no two of its configuration entries lie above
// the highest committed index.
func (c *Cluster) ConfigEntries(id raft.NodeID, from raft.Index, confs []raft.Index) {
	k := max(c.commitHi, c.maxApplied)
	held := c.confs[id]
	// Keep the entries still in the log and above k: one at or below k
	// never counts again, as k only grows.
	kept := held[:0]
	for _, i := range held {
		if i > k && from != 0 && i < from {
			kept = append(kept, i)
		}
	}
	for _, i := range confs {
		if i > k {
			kept = append(kept, i)
		}
	}
	c.confs[id] = kept
	if len(kept) > 1 {
		c.Fail(OneConfChange, "%s's log holds configuration entries at %v, all above the highest committed index %d (§4.1: one change at a time)", id, slices.Clone(kept), k)
	}
}

// A leader proposes a configuration change only once it has committed an
// entry of its own term (the thesis's erratum to §4.1, Ongaro's bug):
// otherwise a change appended by a new leader that has not yet learned
// of an earlier leader's uncommitted change can commit with a quorum
// that does not overlap the one the earlier change will commit with once
// that leader is back. So a configuration entry of term T at index j
// follows, in the log, an entry of term T (the new leader's no-op) that
// is committed by the time the change is durable anywhere: the leader's
// commit index covered it when it proposed, and that commit left in its
// messages (or its own durable write) before the change could reach a
// log.

// ConfigAppended checks a configuration entry at index (of term) as it
// is written to node id's durable log; termStart is the first index of
// term in that log (0: in its snapshot, hence committed).
func (c *Cluster) ConfigAppended(id raft.NodeID, index raft.Index, term raft.Term, termStart raft.Index) {
	if index <= 1 {
		return // the bootstrap configuration
	}
	k := max(c.commitHi, c.maxApplied)
	switch {
	case termStart == index:
		c.Fail(ConfChangeOwnTerm, "%s: configuration entry %d is the first of term %d in its log: proposed before its leader committed an entry of its term", id, index, term)
	case termStart > k:
		c.Fail(ConfChangeOwnTerm, "%s: configuration entry %d of term %d follows term %d's first entry %d, above the highest committed index %d: proposed before its leader committed an entry of its term", id, index, term, term, termStart, k)
	}
}
