package raft

import "fmt"

// HasReady reports whether Ready would return any work.
func (n *Node) HasReady() bool {
	if n.needBcast && n.role == Leader {
		n.flushAppends()
	}
	return n.softState() != n.prevSoft ||
		n.hardState() != n.prevHard ||
		n.log.hasUnstableToPersist() ||
		len(n.msgs) > 0 || len(n.msgsAfterPersist) > 0 ||
		len(n.readStates) > 0 ||
		n.log.hasNextCommittedEnts()
}

// Ready hands out the pending work. Several Readys may be outstanding: the
// entries stay in the core until Persisted acknowledges them.
func (n *Node) Ready() Ready {
	if n.needBcast && n.role == Leader {
		n.flushAppends()
	}
	var rd Ready
	if ss := n.softState(); ss != n.prevSoft {
		// A copy declared here: &ss itself would move ss to the heap on
		// every Ready, changed or not.
		changed := ss
		rd.SoftState = &changed
		n.prevSoft = ss
	}
	if hs := n.hardState(); hs != n.prevHard {
		rd.HardState = hs
		n.prevHard = hs
	}
	rd.Entries, rd.Snapshot = n.log.takeUnstable()
	rd.Messages, n.msgs = n.msgs, nil
	rd.MessagesAfterPersist, n.msgsAfterPersist = n.msgsAfterPersist, nil
	rd.CommittedEntries = n.log.nextCommittedEnts()
	if n.role == Leader && len(rd.CommittedEntries) > 0 {
		// Applied-out entries no longer count as uncommitted.
		var b uint64
		for i := range rd.CommittedEntries {
			b += rd.CommittedEntries[i].Size()
		}
		n.uncommittedBytes -= min(b, n.uncommittedBytes)
	}
	rd.ReadStates, n.readStates = n.readStates, nil
	rd.Persist = PersistMark{HardState: rd.HardState, truncations: n.log.unstable.truncations}
	if k := len(rd.Entries); k > 0 {
		rd.Persist.LastIndex = rd.Entries[k-1].Index
		rd.Persist.LastTerm = rd.Entries[k-1].Term
	}
	if rd.Snapshot != nil {
		rd.Persist.SnapshotIndex = rd.Snapshot.Index
	}
	return rd
}

// Persisted reports that the disk work of the Ready that produced mark is
// durable. Marks must come in Ready order.
func (n *Node) Persisted(mark PersistMark) {
	if mark.SnapshotIndex != 0 {
		n.log.stableSnapTo(mark.SnapshotIndex)
	}
	if mark.LastIndex != 0 {
		// A mark from before a truncation, or whose entry was replaced
		// since, is ignored by stableTo (ABA).
		n.log.stableTo(mark.LastIndex, mark.LastTerm, mark.truncations)
	}
	if !mark.HardState.IsEmpty() {
		if mark.HardState.Term < n.persistedHard.Term {
			panic(fmt.Sprintf("raft: Persisted hard state term %d below earlier %d (marks out of order?)",
				mark.HardState.Term, n.persistedHard.Term))
		}
		n.persistedHard = mark.HardState
	}
	switch n.role {
	case Candidate:
		n.recordSelfVote()
	case Leader:
		// The leader counts itself only for entries it has made durable.
		if self := n.prs[n.id]; self != nil && self.maybeUpdate(n.log.durableLast()) {
			if n.maybeCommit() {
				n.needBcast = true
			}
		}
	}
}
