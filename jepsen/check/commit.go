package check

import "github.com/agentd/agentd/raft"

// Commit durability: an entry is committed once a majority of the voters
// of the configuration in force hold it in stable storage (§5.3, §10.2.1:
// a leader may write its own log in parallel with the followers', but
// counts itself only once its own write is durable). So when an index is
// applied for the first time anywhere, a majority of some configuration
// in force must hold the entry durably; else one power loss among the
// ones that hold it only in memory could elect a leader without it.
// Log matching, leader completeness and state machine safety see such an
// early commit only if that crash and election then happen; this checks
// the rule itself, crash or no crash.
//
// raft.Config.ApplyBeforeLocalDurable lets a leader apply before its own
// write is durable; that is legal (a majority of the other voters holds
// the entry), and it is exactly what this requires.
//
// Which configuration the committing leader counted in is not observed,
// so the caller passes the ones that may be in force (with single-server
// changes taking effect on append: the last committed one, the leader's
// latest, the applier's latest); a majority of any of them suffices.

// CommittedDurable checks, as index (of term) is applied for the first
// time anywhere, that a majority of the voters of one of confs hold it
// durably; holds reports whether a voter does (an entry compacted into
// its snapshot counts).
func (c *Cluster) CommittedDurable(index raft.Index, term raft.Term, confs [][]raft.NodeID, holds func(raft.NodeID) bool) {
	best, bestOf := []raft.NodeID(nil), 0
	for _, voters := range confs {
		if len(voters) == 0 {
			continue
		}
		var held []raft.NodeID
		for _, v := range voters {
			if holds(v) {
				held = append(held, v)
			}
		}
		if len(held) > len(voters)/2 {
			return
		}
		if bestOf == 0 || len(held) > len(best) {
			best, bestOf = held, len(voters)
		}
	}
	if bestOf == 0 {
		return // no configuration known: nothing to judge against
	}
	c.Fail(CommitDurableQuorum, "index %d (term %d) applied while durable on %v only, %d of %d voters at best (configurations %v)", index, term, best, len(best), bestOf, confs)
}

// MayHoldDurable reports whether node id's disk, as it last reported it
// durable, may hold index: its durable log reaches that far (whatever
// the term: its disk is not read while it is down), or a write was in
// flight when it went down (part of it may have survived). It judges a
// voter that is down, whose log cannot be read.
func (c *Cluster) MayHoldDurable(id raft.NodeID, index raft.Index) bool {
	nd := c.node(id)
	return nd.lastIndex >= index || nd.snapIndex >= index || nd.pending && nd.pendingFrom != 0 && nd.pendingFrom <= index
}
