package raft

import (
	"context"
	"fmt"
	"log/slog"
)

// Node is one Raft server's protocol state. It is not safe for concurrent
// use: the driver calls it from one goroutine.
type Node struct {
	id  NodeID
	cfg Config
	log *raftLog

	// Persistent state (Figure 2), durable once the Ready carrying it is.
	term Term
	vote NodeID

	role Role
	lead NodeID

	// electionElapsed counts ticks since the timer was last reset (follower,
	// candidate) or since the last CheckQuorum round (leader).
	electionElapsed int
	// randomizedTimeout is drawn from [ElectionTicks, 2*ElectionTicks).
	randomizedTimeout int
	heartbeatElapsed  int

	conf configState
	// prs is the leader's progress per member, itself included.
	prs map[NodeID]*progress
	// votes collects (pre-)vote answers while campaigning.
	votes map[NodeID]bool
	// selfVotePending: our vote for ourselves counts only once the HardState
	// carrying it is durable (Persisted).
	selfVotePending bool

	// transferee is the target of a leadership transfer in progress.
	transferee      NodeID
	transferElapsed int

	read readIndexState

	// uncommittedBytes is the leader's appended, not yet applied-out entry
	// bytes (Config.MaxUncommittedBytes).
	uncommittedBytes uint64
	// needBcast: the leader appended entries that are not yet sent; they go
	// out together on the next HasReady/Ready (batching).
	needBcast bool

	msgs             []Message
	msgsAfterPersist []Message
	readStates       []ReadState

	// prevSoft/prevHard are the states last handed out in a Ready.
	prevSoft SoftState
	prevHard HardState
	// persistedHard is the latest HardState reported durable.
	persistedHard HardState

	logger *slog.Logger
}

// NewNode restores a node from storage: hard state, snapshot metadata and the
// configurations found in the log. It reads the log in bounded batches.
func NewNode(cfg Config, s Storage) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hs, snap, err := s.InitialState()
	if err != nil {
		return nil, fmt.Errorf("raft: initial state: %w", err)
	}
	n := &Node{
		id:     cfg.ID,
		cfg:    cfg,
		log:    newRaftLog(s, cfg.MaxApplyBytes),
		logger: cfg.Logger,
	}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	first, last := s.FirstIndex(), s.LastIndex()
	if first > last+1 || snap.Index > last || first-1 > snap.Index {
		return nil, fmt.Errorf("raft: storage bounds: first %d, last %d, snapshot %d", first, last, snap.Index)
	}
	if hs.Commit > last {
		return nil, fmt.Errorf("raft: hard state commit %d beyond last index %d", hs.Commit, last)
	}
	n.term, n.vote = hs.Term, hs.Vote
	n.log.committed = max(hs.Commit, snap.Index)
	n.log.applying, n.log.applied = snap.Index, snap.Index
	n.prevHard = n.hardState()
	n.persistedHard = n.prevHard

	n.conf.reset(snap.ConfigIndex, snap.Configuration)
	err = n.log.scanConfigs(max(first, snap.ConfigIndex+1), last, 4<<20, func(e Entry) error {
		c, err := DecodeConfiguration(e.Data)
		if err != nil {
			return fmt.Errorf("raft: config entry %d: %w", e.Index, err)
		}
		n.conf.push(e.Index, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raft: scanning log for configurations: %w", err)
	}
	n.conf.compact(n.log.committed)
	n.becomeFollower(n.term, None)
	n.prevSoft = n.softState()
	return n, nil
}

func (n *Node) hardState() HardState {
	return HardState{Term: n.term, Vote: n.vote, Commit: n.log.committed}
}

func (n *Node) softState() SoftState { return SoftState{Lead: n.lead, Role: n.role} }

// promotable reports whether this node may campaign: it is a voter in its
// latest configuration (non-voters and removed servers never campaign).
func (n *Node) promotable() bool { return n.conf.isVoter(n.id) }

// Tick advances logical time by one tick.
func (n *Node) Tick() {
	if n.role == Leader {
		n.tickLeader()
	} else {
		n.tickElection()
	}
}

// Campaign starts an election now (tests, single-node bootstrap).
func (n *Node) Campaign() error {
	if n.role == Leader {
		return nil
	}
	if !n.promotable() {
		return fmt.Errorf("raft: campaign: %s is not a voter", n.id)
	}
	n.startElection(false)
	return nil
}

// Propose appends data as a normal entry. It returns where the entry was
// appended; the outcome is learned when that index is applied (see doc.go).
func (n *Node) Propose(data []byte) (Index, Term, error) {
	if err := n.checkPropose(uint64(len(data))); err != nil {
		return 0, 0, err
	}
	return n.appendLocal(EntryNormal, data)
}

func (n *Node) checkPropose(size uint64) error {
	switch {
	case n.role != Leader:
		return ErrNotLeader
	case n.transferee != None:
		return ErrTransferInProgress
	case size > n.cfg.MaxEntrySize:
		return ErrTooLarge
	case n.uncommittedBytes > 0 && n.uncommittedBytes+size+24 > n.cfg.MaxUncommittedBytes:
		return ErrTooMuchUncommitted
	}
	return nil
}

// appendLocal appends one entry at the leader and schedules its broadcast.
func (n *Node) appendLocal(t EntryType, data []byte) (Index, Term, error) {
	e := Entry{Term: n.term, Index: n.log.lastIndex() + 1, Type: t, Data: data}
	n.log.append(e)
	n.uncommittedBytes += e.Size()
	if t == EntryConfig {
		n.onAppended([]Entry{e})
	}
	n.needBcast = true
	// A single voter commits as soon as the entry is durable (Persisted).
	return e.Index, e.Term, nil
}

// Step processes a message from the network. Malformed or unexpected input
// returns an error wrapping ErrStepBadMessage; it never panics.
func (n *Node) Step(m Message) error {
	if err := n.validate(&m); err != nil {
		return fmt.Errorf("%w: %s from %q: %v", ErrStepBadMessage, m.Type, m.From, err)
	}
	switch {
	case m.Term > n.term:
		if m.Type == MsgVote || m.Type == MsgPreVote {
			if n.inLease() && !isTransferVote(&m) {
				// §6 of the thesis (disruptive servers): a follower that
				// heard from its leader within the minimum election timeout
				// ignores vote requests; CheckQuorum makes this safe.
				return nil
			}
		}
		switch {
		case m.Type == MsgPreVote:
			// Never change term for a pre-vote.
		case m.Type == MsgPreVoteResp && !m.Reject:
			// A granted pre-vote echoes the term we would campaign in.
		case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap:
			n.becomeFollower(m.Term, m.From)
		default:
			n.becomeFollower(m.Term, None)
		}
	case m.Term < n.term:
		switch m.Type {
		case MsgApp, MsgHeartbeat, MsgSnap:
			// Tell the stale leader about the newer term (Figure 2).
			n.send(Message{To: m.From, Type: MsgAppResp, Reject: true, Index: m.Index})
		case MsgVote, MsgPreVote:
			n.send(Message{To: m.From, Type: voteRespType(m.Type), Reject: true})
		}
		return nil // stale: pitfall 8 (drop replies from other terms)
	}

	switch m.Type {
	case MsgVote, MsgPreVote:
		n.handleVoteRequest(&m)
		return nil
	}
	switch n.role {
	case Leader:
		return n.stepLeader(&m)
	case Candidate, PreCandidate:
		n.stepCandidate(&m)
	default:
		n.stepFollower(&m)
	}
	return nil
}

// validate rejects malformed messages before they touch any state.
func (n *Node) validate(m *Message) error {
	switch {
	case !m.Type.Valid() || m.Type == MsgProp || m.Type == MsgSnapStatus:
		return fmt.Errorf("unknown or local-only type")
	case m.From == None || m.From == n.id:
		return fmt.Errorf("bad sender")
	case m.To != None && m.To != n.id:
		return fmt.Errorf("addressed to %q", m.To)
	case m.Term == 0:
		return fmt.Errorf("term 0")
	case m.LogTerm > m.Term && m.Type != MsgPreVote && m.Type != MsgVote:
		return fmt.Errorf("log term %d above term %d", m.LogTerm, m.Term)
	case len(m.Entries) > 0 && m.Type != MsgApp:
		return fmt.Errorf("entries on a non-append")
	case m.Type == MsgSnap && (m.Snapshot == nil || m.Snapshot.Index == 0 || m.Snapshot.Term == 0 ||
		m.Snapshot.Term > m.Term || m.Snapshot.ConfigIndex > m.Snapshot.Index):
		return fmt.Errorf("bad snapshot metadata")
	case m.Type != MsgSnap && m.Snapshot != nil:
		return fmt.Errorf("snapshot metadata on a non-snapshot")
	}
	prev := Entry{Index: m.Index, Term: m.LogTerm}
	for i := range m.Entries {
		e := &m.Entries[i]
		switch {
		case e.Index != prev.Index+1:
			return fmt.Errorf("entry %d: index %d not contiguous", i, e.Index)
		case e.Term < prev.Term || e.Term > m.Term || e.Term == 0:
			return fmt.Errorf("entry %d: bad term %d", i, e.Term)
		case e.Type != EntryNormal && e.Type != EntryNoop && e.Type != EntryConfig:
			return fmt.Errorf("entry %d: bad type %d", i, e.Type)
		case e.Type == EntryConfig:
			if _, err := DecodeConfiguration(e.Data); err != nil {
				return fmt.Errorf("entry %d: %v", i, err)
			}
		}
		prev = *e
	}
	return nil
}

// send queues m. Messages whose meaning depends on our own durable state
// (term, vote, log) wait for persistence; a leader's replication messages
// leave at once (thesis §10.2.1).
func (n *Node) send(m Message) {
	m.From = n.id
	if m.Term == 0 {
		m.Term = n.term
	}
	switch m.Type {
	case MsgVote, MsgVoteResp, MsgPreVoteResp, MsgAppResp, MsgHeartbeatResp:
		n.msgsAfterPersist = append(n.msgsAfterPersist, m)
	default:
		if n.msgs == nil && n.role == Leader {
			// A leader mostly broadcasts: room for one message per peer
			// up front instead of growing 1, 2, 4.
			n.msgs = make([]Message, 0, len(n.prs))
		}
		n.msgs = append(n.msgs, m)
	}
}

// Applied reports that the state machine applied every entry up to i.
func (n *Node) Applied(i Index) { n.log.appliedTo(i) }

// ReportUnreachable tells the leader that a message to id could not be sent:
// it stops pipelining to id and probes instead.
func (n *Node) ReportUnreachable(id NodeID) {
	if n.role != Leader {
		return
	}
	if pr := n.prs[id]; pr != nil && pr.state == ProgressReplicate {
		pr.becomeProbe()
	}
}

// Status returns the node's current state.
func (n *Node) Status() Status {
	s := Status{
		ID:        n.id,
		HardState: n.hardState(),
		SoftState: n.softState(),
		Applied:   n.log.applied,
		LastIndex: n.log.lastIndex(),
	}
	c := n.conf.conf()
	s.Configuration = Configuration{Servers: append([]Server(nil), c.Servers...)}
	if n.role == Leader {
		s.Progress = make(map[NodeID]Progress, len(n.prs))
		for id, pr := range n.prs {
			s.Progress[id] = pr.status()
		}
	}
	return s
}

func (n *Node) debug(msg string, args ...any) {
	if n.logger.Enabled(context.Background(), slog.LevelDebug) {
		n.logger.Debug(msg, append([]any{"id", n.id, "term", n.term}, args...)...)
	}
}
