package raft

import "bytes"

// transferMarker is put in MsgVote.Context by a candidate campaigning on a
// leader's MsgTimeoutNow: voters then grant even while they still hear from
// that leader (thesis §3.10).
var transferMarker = []byte("raft-transfer")

func isTransferVote(m *Message) bool {
	return m.Type == MsgVote && bytes.Equal(m.Context, transferMarker)
}

func voteRespType(t MessageType) MessageType {
	if t == MsgPreVote {
		return MsgPreVoteResp
	}
	return MsgVoteResp
}

// inLease reports whether we heard from a leader within the minimum election
// timeout; with CheckQuorum such a follower ignores vote requests.
func (n *Node) inLease() bool {
	return n.cfg.CheckQuorum && n.lead != None && n.electionElapsed < n.cfg.ElectionTicks
}

// resetElectionTimer restarts the election timer with a fresh random timeout.
// Only called when the paper says so (pitfall 4): on an AppendEntries or
// heartbeat from the current leader, when granting a vote, and when starting
// an election.
func (n *Node) resetElectionTimer() {
	n.electionElapsed = 0
	n.randomizedTimeout = n.cfg.ElectionTicks + n.cfg.Rand.IntN(n.cfg.ElectionTicks)
}

func (n *Node) tickElection() {
	n.electionElapsed++
	if n.electionElapsed >= n.randomizedTimeout && n.promotable() {
		// A candidate whose timer fires starts a new election (pitfall 5).
		n.startElection(false)
	}
}

// startElection begins a pre-vote, or (without PreVote, or for a transfer) a
// real election.
func (n *Node) startElection(transfer bool) {
	if n.cfg.PreVote && !transfer {
		n.becomePreCandidate()
	} else {
		n.becomeCandidate(transfer)
	}
}

func (n *Node) reset(term Term) {
	if n.term != term {
		n.term = term
		n.vote = None
	}
	n.lead = None
	n.heartbeatElapsed = 0
	n.votes = nil
	n.selfVotePending = false
	n.prs = nil
	n.transferee = None
	n.read.reset()
	n.uncommittedBytes = 0
	n.needBcast = false
	n.log.applyUnstable = false
}

// becomeFollower steps down to follower in term with leader lead (None if
// unknown). It does not reset the election timer (pitfall 4), except when
// the node was leader: its timer measured CheckQuorum rounds, not silence.
func (n *Node) becomeFollower(term Term, lead NodeID) {
	wasLeader := n.role == Leader
	n.reset(term)
	n.role = Follower
	n.lead = lead
	if wasLeader || n.randomizedTimeout == 0 {
		n.resetElectionTimer()
	}
	n.debug("became follower", "lead", lead)
}

func (n *Node) becomePreCandidate() {
	// A pre-candidate keeps its term and vote: nothing to persist.
	n.reset(n.term)
	n.role = PreCandidate
	n.resetElectionTimer()
	n.votes = map[NodeID]bool{n.id: true}
	n.debug("became pre-candidate")
	if n.tallyVotes() == voteWon {
		n.becomeCandidate(false)
		return
	}
	n.requestVotes(MsgPreVote, n.term+1, nil)
}

func (n *Node) becomeCandidate(transfer bool) {
	n.reset(n.term + 1)
	n.role = Candidate
	n.vote = n.id
	n.resetElectionTimer()
	n.votes = map[NodeID]bool{}
	// Our own vote counts once term and vote are durable (Persisted).
	n.selfVotePending = true
	n.debug("became candidate")
	var ctx []byte
	if transfer {
		ctx = transferMarker
	}
	n.requestVotes(MsgVote, n.term, ctx)
}

func (n *Node) requestVotes(t MessageType, term Term, ctx []byte) {
	lastIndex, lastTerm := n.log.lastIndex(), n.log.lastTerm()
	for _, id := range n.conf.voters {
		if id == n.id {
			continue
		}
		n.send(Message{To: id, Type: t, Term: term, Index: lastIndex, LogTerm: lastTerm, Context: ctx})
	}
}

// recordSelfVote counts our own vote once the HardState carrying it is
// durable.
func (n *Node) recordSelfVote() {
	if n.role != Candidate || !n.selfVotePending {
		return
	}
	if n.persistedHard.Term != n.term || n.persistedHard.Vote != n.id {
		return
	}
	n.selfVotePending = false
	n.votes[n.id] = true
	n.checkVotes()
}

// handleVoteRequest answers MsgVote and MsgPreVote (§5.2, §5.4.1, thesis
// §9.6). Terms were already reconciled by Step.
func (n *Node) handleVoteRequest(m *Message) {
	// Paper: grant if we have not voted for someone else in this term. A
	// pre-vote for a future term is granted on the log check alone.
	canVote := n.vote == m.From || n.vote == None ||
		(m.Type == MsgPreVote && m.Term > n.term)
	if m.Type == MsgPreVote && m.Term == n.term && n.lead != None {
		// A pre-vote for our own term cannot win against a live leader.
		canVote = false
	}
	if canVote && n.log.isUpToDate(m.Index, m.LogTerm) {
		n.send(Message{To: m.From, Type: voteRespType(m.Type), Term: m.Term})
		if m.Type == MsgVote {
			n.vote = m.From
			n.resetElectionTimer() // granting a vote resets the timer
		}
		return
	}
	n.send(Message{To: m.From, Type: voteRespType(m.Type), Reject: true})
}

func (n *Node) stepCandidate(m *Message) {
	switch m.Type {
	case MsgApp, MsgHeartbeat, MsgSnap:
		// A leader exists for our term (§5.2): step down, then handle.
		n.becomeFollower(n.term, m.From)
		n.stepFollower(m)
	case MsgPreVoteResp, MsgVoteResp:
		want := MsgVoteResp
		if n.role == PreCandidate {
			want = MsgPreVoteResp
		}
		if m.Type != want || !n.conf.isVoter(m.From) {
			return
		}
		n.votes[m.From] = !m.Reject
		n.checkVotes()
	case MsgTimeoutNow:
		// Already campaigning.
	}
}

func (n *Node) checkVotes() {
	switch n.tallyVotes() {
	case voteWon:
		if n.role == PreCandidate {
			n.becomeCandidate(false)
		} else {
			n.becomeLeader()
		}
	case voteLost:
		n.becomeFollower(n.term, None)
	}
}

// becomeLeader takes over: progress for every member, and a no-op entry so
// that entries of earlier terms get committed (§5.4.2, §8).
func (n *Node) becomeLeader() {
	n.reset(n.term)
	n.role = Leader
	n.lead = n.id
	n.electionElapsed = 0
	n.log.applyUnstable = n.cfg.ApplyBeforeLocalDurable
	n.prs = make(map[NodeID]*progress, len(n.conf.conf().Servers))
	last := n.log.lastIndex()
	for _, s := range n.conf.conf().Servers {
		n.prs[s.ID] = newProgress(last+1, n.cfg.MaxInflightMsgs, n.cfg.MaxInflightBytes)
	}
	self := n.prs[n.id]
	if self == nil {
		panic("raft: leader " + string(n.id) + " is not in its configuration")
	}
	self.match = n.log.durableLast()
	self.next = last + 1
	self.state = ProgressReplicate
	n.debug("became leader")
	if _, _, err := n.appendLocal(EntryNoop, nil); err != nil {
		panic(err)
	}
}
