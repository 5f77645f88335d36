package raft

import (
	"errors"
	"fmt"
)

func (n *Node) tickLeader() {
	n.heartbeatElapsed++
	n.electionElapsed++
	if n.electionElapsed >= n.cfg.ElectionTicks {
		n.electionElapsed = 0
		if n.cfg.CheckQuorum {
			if !n.quorumActive() {
				// Leader steps down when it has not heard from a quorum
				// within an election timeout (thesis §6.2).
				n.debug("stepping down: quorum inactive")
				n.becomeFollower(n.term, None)
				return
			}
			for id, pr := range n.prs {
				if id != n.id {
					pr.recentActive = false
				}
			}
		}
	}
	if n.transferee != None {
		n.transferElapsed++
		if n.transferElapsed >= n.cfg.ElectionTicks {
			n.debug("leadership transfer timed out", "to", n.transferee)
			n.abortTransfer()
		}
	}
	n.tickAutoPromote()
	if n.heartbeatElapsed >= n.cfg.HeartbeatTicks {
		n.heartbeatElapsed = 0
		n.bcastHeartbeat(n.read.inflightContext())
	}
}

func (n *Node) stepLeader(m *Message) error {
	// pr is nil for a server that is not (or no longer) a member: its late
	// answers are ignored.
	pr := n.prs[m.From]
	switch m.Type {
	case MsgAppResp:
		if pr == nil {
			return nil
		}
		if last := n.log.lastIndex(); m.Index > last {
			// We never sent (or could be acknowledged for) an index past
			// our log; trusting it would corrupt match/next.
			return fmt.Errorf("%w: %s from %s for index %d beyond our last index %d",
				ErrStepBadMessage, m.Type, m.From, m.Index, last)
		}
		n.handleAppResp(m, pr)
	case MsgHeartbeatResp:
		if pr == nil {
			return nil
		}
		n.handleHeartbeatResp(m, pr)
	case MsgReadIndex:
		n.handleReadIndexRequest(m)
	case MsgApp, MsgHeartbeat, MsgSnap:
		// Two leaders in one term would break Election Safety (§5.2). It
		// is network input, so it is refused, not a crash; the error makes
		// it loud in tests and the simulator.
		return fmt.Errorf("%w: leader %s got %s from %s in its own term %d",
			ErrStepBadMessage, n.id, m.Type, m.From, n.term)
	}
	return nil
}

// sendAppend sends one MsgApp (or MsgSnap) to id if its progress allows.
// Empty appends are sent only when sendIfEmpty (to carry the commit index).
// Reports whether a message was sent.
func (n *Node) sendAppend(id NodeID, pr *progress, sendIfEmpty bool) bool {
	if pr.isPaused() {
		return false
	}
	prevIndex := pr.next - 1
	prevTerm, err := n.log.term(prevIndex)
	var ents []Entry
	if err == nil {
		if last := n.log.lastIndex(); pr.next <= last {
			ents, err = n.log.entries(pr.next, last+1, n.cfg.MaxMsgBytes)
		}
	}
	if err != nil {
		if errors.Is(err, ErrCompacted) {
			return n.sendSnapshot(id, pr)
		}
		panic(fmt.Sprintf("raft: reading entries for %s from %d: %v", id, pr.next, err))
	}
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	var bytes uint64
	for i := range ents {
		bytes += ents[i].Size()
	}
	n.send(Message{To: id, Type: MsgApp, Index: prevIndex, LogTerm: prevTerm,
		Entries: ents, Commit: n.log.committed})
	pr.sentCommit = n.log.committed
	pr.sentEntries(prevIndex+Index(len(ents)), len(ents), bytes)
	return true
}

// forEachPeer calls fn for every member but ourselves, in ID order (map order
// would make the output nondeterministic).
func (n *Node) forEachPeer(fn func(id NodeID, pr *progress)) {
	for _, s := range n.conf.conf().Servers {
		if s.ID == n.id {
			continue
		}
		if pr := n.prs[s.ID]; pr != nil {
			fn(s.ID, pr)
		}
	}
}

// flushAppends sends pending entries to every peer, pipelining as far as the
// inflight limits allow, and an empty MsgApp to a peer that has not yet been
// told the current commit index. Appends are batched: Propose and
// acknowledgements only set needBcast, and the driver's next HasReady/Ready
// flushes once.
func (n *Node) flushAppends() {
	n.needBcast = false
	n.forEachPeer(func(id NodeID, pr *progress) {
		n.sendAppendAll(id, pr)
		if pr.sentCommit < n.log.committed {
			n.sendAppend(id, pr, true)
		}
	})
}

func (n *Node) sendAppendAll(id NodeID, pr *progress) {
	sent := n.sendAppend(id, pr, false)
	for sent && pr.state == ProgressReplicate && pr.next <= n.log.lastIndex() {
		sent = n.sendAppend(id, pr, false)
	}
}

// bcastHeartbeat sends a heartbeat to every peer. Heartbeats carry the
// AppendEntries consistency check at the peer's match index (pitfall 2) and
// a commit no higher than that index, so a follower never commits entries
// it has not been shown to hold (pitfall 9).
func (n *Node) bcastHeartbeat(ctx []byte) {
	n.forEachPeer(func(id NodeID, pr *progress) { n.sendHeartbeat(id, pr, ctx) })
}

func (n *Node) sendHeartbeat(id NodeID, pr *progress, ctx []byte) {
	prev := pr.match
	prevTerm, err := n.log.term(prev)
	if err != nil {
		prev, prevTerm = 0, 0 // match is compacted: a bare liveness heartbeat
	}
	commit := min(n.log.committed, prev)
	n.send(Message{To: id, Type: MsgHeartbeat, Index: prev, LogTerm: prevTerm,
		Commit: commit, Context: ctx})
	pr.sentCommit = max(pr.sentCommit, commit)
}

// handleAppResp processes a follower's answer to MsgApp/MsgSnap. m.Index is
// the index acknowledged for a request of this term (Step dropped other
// terms), so match comes from what we sent (pitfall 8).
func (n *Node) handleAppResp(m *Message, pr *progress) {
	pr.recentActive = true
	if m.Reject {
		hint := m.ConflictIndex
		if m.ConflictTerm != 0 {
			// Students' Guide: jump past our last entry of ConflictTerm, or
			// to ConflictIndex if we have none.
			i, t := n.log.findConflictByTerm(min(m.Index, n.log.lastIndex()), m.ConflictTerm)
			if t == m.ConflictTerm {
				hint = i + 1
			}
		}
		if hint == 0 {
			hint = 1
		}
		if pr.maybeDecrTo(m.Index, hint) {
			n.sendAppend(m.From, pr, true)
		}
		return
	}
	if !pr.maybeUpdate(m.Index) {
		return
	}
	switch {
	case pr.state == ProgressProbe:
		pr.becomeReplicate()
	case pr.state == ProgressSnapshot && pr.match >= pr.pendingSnapshot:
		pr.becomeProbe()
		pr.becomeReplicate()
	case pr.state == ProgressReplicate:
		pr.inflights.freeLE(pr.match)
	}
	n.maybeCommit()
	n.needBcast = true // more entries for m.From, or the new commit for all
	if m.From == n.transferee && pr.match == n.log.lastIndex() {
		n.sendTimeoutNow(m.From)
	}
}

func (n *Node) handleHeartbeatResp(m *Message, pr *progress) {
	pr.recentActive = true
	pr.probeSent = false
	if pr.state == ProgressReplicate {
		if pr.inflights.full() {
			pr.inflights.freeFirst()
		}
	}
	// An empty MsgApp at next-1 exposes a lost tail: the follower rejects it
	// and we fall back to probing (a MsgApp lost with nothing behind it would
	// otherwise go unnoticed until the next proposal).
	if pr.match < n.log.lastIndex() || pr.state == ProgressProbe {
		n.sendAppend(m.From, pr, true)
	}
	n.handleReadAck(m)
}

// maybeCommit advances the commit index to the highest index replicated on a
// quorum of voters, but only if that entry is of the current term (§5.4.2,
// Figure 8). Reports whether commit moved.
func (n *Node) maybeCommit() bool {
	if n.role != Leader {
		return false
	}
	mci := n.quorumMatch()
	if mci <= n.log.committed {
		return false
	}
	if t, err := n.log.term(mci); err != nil || t != n.term {
		return false
	}
	n.log.commitTo(mci)
	n.conf.compact(mci)
	n.onLeaderCommit()
	return true
}

// onLeaderCommit runs after the leader's commit index moved.
func (n *Node) onLeaderCommit() {
	n.releaseReads()
	n.maybeStepDownRemoved()
}

func (n *Node) stepFollower(m *Message) {
	switch m.Type {
	case MsgApp:
		n.acceptLeader(m.From)
		n.handleAppend(m)
	case MsgHeartbeat:
		n.acceptLeader(m.From)
		n.handleHeartbeat(m)
	case MsgSnap:
		n.acceptLeader(m.From)
		n.handleSnapshot(m)
	case MsgTimeoutNow:
		if n.promotable() {
			n.debug("campaigning on MsgTimeoutNow", "from", m.From)
			n.startElection(true)
		}
	case MsgReadIndexResp:
		if !m.Reject {
			n.readStates = append(n.readStates, ReadState{Index: m.Index, Context: m.Context})
		}
	}
}

// acceptLeader records the sender as the leader of our term and resets the
// election timer (an AppendEntries from the current leader, pitfall 4).
func (n *Node) acceptLeader(from NodeID) {
	n.lead = from
	n.resetElectionTimer()
}

// handleAppend is the receiver side of AppendEntries (Figure 2).
func (n *Node) handleAppend(m *Message) {
	if m.Index < n.log.committed {
		// The prefix up to our commit index matches the leader's (Leader
		// Completeness), so acknowledge it; entries beyond are still
		// checked below on a later message.
		n.send(Message{To: m.From, Type: MsgAppResp, Index: n.log.committed})
		return
	}
	if !n.log.matchTerm(m.Index, m.LogTerm) {
		n.rejectAppend(m, MsgAppResp)
		return
	}
	lastNew := m.Index + Index(len(m.Entries))
	// Truncate only on a real conflict (pitfall 3): entries we already hold
	// are left alone, so a stale reordered MsgApp takes nothing back.
	if ci := n.log.findConflict(m.Entries); ci != 0 {
		if ci <= n.log.committed {
			panic(fmt.Sprintf("raft: entry %d conflicts with committed %d", ci, n.log.committed))
		}
		ents := m.Entries[ci-m.Entries[0].Index:]
		n.log.append(ents...)
		n.onAppended(ents)
	}
	// commitIndex = min(leaderCommit, index of last new entry) (pitfall 9).
	n.followerCommit(min(m.Commit, lastNew))
	n.send(Message{To: m.From, Type: MsgAppResp, Index: lastNew})
}

// handleHeartbeat runs the same consistency check as AppendEntries with no
// entries (pitfall 2).
func (n *Node) handleHeartbeat(m *Message) {
	resp := Message{To: m.From, Type: MsgHeartbeatResp, Index: m.Index, Context: m.Context}
	if m.Index >= n.log.committed && !n.log.matchTerm(m.Index, m.LogTerm) {
		resp.Reject = true
	} else if m.Index >= n.log.committed {
		n.followerCommit(min(m.Commit, m.Index))
	}
	n.send(resp)
}

func (n *Node) followerCommit(i Index) {
	if i > n.log.committed {
		n.log.commitTo(i)
		n.conf.compact(i)
	}
}

// rejectAppend answers a failed consistency check with the fast-backtracking
// hints of the Students' Guide.
func (n *Node) rejectAppend(m *Message, t MessageType) {
	resp := Message{To: m.From, Type: t, Index: m.Index, Reject: true}
	last := n.log.lastIndex()
	if m.Index > last {
		resp.ConflictIndex = last + 1
	} else {
		ct, err := n.log.term(m.Index)
		if err != nil {
			panic(fmt.Sprintf("raft: term of %d (committed %d): %v", m.Index, n.log.committed, err))
		}
		resp.ConflictTerm = ct
		// First index of ConflictTerm; entries up to committed match the
		// leader anyway, so the search stops there.
		i := m.Index
		floor := max(n.log.committed+1, n.log.firstIndex())
		for i > floor {
			t, err := n.log.term(i - 1)
			if err != nil || t != ct {
				break
			}
			i--
		}
		resp.ConflictIndex = i
	}
	n.send(resp)
}
