package check

import (
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/agentd/agentd/raft"
)

// Violation is a broken safety property.
type Violation struct {
	Checker string // which property
	Detail  string
}

func (v *Violation) Error() string { return v.Checker + ": " + v.Detail }

// Checker names, reported in the summary and by the planted-bug script.
const (
	ElectionSafety     = "election-safety"
	LogMatching        = "log-matching"
	LeaderCompleteness = "leader-completeness"
	StateMachineSafety = "state-machine-safety"
	Durability         = "durability"
	DurableBeforeSend  = "durable-before-send"
	// CommitDurableQuorum: an index applied before a majority held it
	// durably (commit.go).
	CommitDurableQuorum = "commit-durable-quorum"
	// OneConfChange: a log held two configuration entries above the
	// highest committed index (confchange.go).
	OneConfChange = "one-conf-change"
	// ConfChangeOwnTerm: a configuration entry proposed before its
	// leader committed an entry of its term (confchange.go).
	ConfChangeOwnTerm = "conf-change-own-term"
	// ConfChangeRefused: the core refused as invalid a configuration
	// change that its leader's own configuration allows
	// (jepsen/confrefusal.go), so membership silently stopped changing.
	ConfChangeRefused = "conf-change-refused"
	// ConfigMatchesLog: a node's configuration is not the latest one in
	// its log (jepsen/confcheck.go).
	ConfigMatchesLog = "config-matches-log"
	// ReadIndex: a read served at a read index below an entry applied
	// before it was issued, or above the serving node's applied index
	// (jepsen/node.go, checkReadIndex).
	ReadIndex       = "read-index"
	Convergence     = "convergence"
	Linearizability = "linearizability"
	// Undecided: Porcupine ran out of (wall) time on the history. It
	// fails a run, as a history nobody checked proves nothing, but it is
	// no finding: whether it happens depends on the machine's speed. A
	// campaign counts such runs apart, under a ceiling (jepsen.Summary).
	Undecided = "linearizability-undecided"
	Liveness  = "liveness"
	// RemovedLeader: a leader kept leading after committing its own
	// removal (jepsen/membership.go). Not a safety property: such a
	// leader commits with the new configuration's quorum.
	RemovedLeader = "removed-leader"
	// DiskHygiene: a running member kept staged snapshot files after the
	// run ended (jepsen/hygiene.go). Not safety: nothing is lost, but a
	// real server's disk fills.
	DiskHygiene   = "disk-hygiene"
	InternalError = "internal-error"
	Panic         = "panic" // an assertion in the code under test fired
)

// IsSafety reports whether checker judges a cluster-level safety
// property (election, log, state machine, durability, linearizability),
// as opposed to liveness, a panic inside the code under test, an
// internal error of the simulator or an undecided linearizability check.
func IsSafety(checker string) bool {
	switch checker {
	case ElectionSafety, LogMatching, LeaderCompleteness, StateMachineSafety, Durability, DurableBeforeSend, CommitDurableQuorum, OneConfChange, ConfChangeOwnTerm, ConfChangeRefused, ConfigMatchesLog, ReadIndex, Convergence, Linearizability:
		return true
	}
	return false
}

type entryID struct {
	term raft.Term
	hash uint64 // of type and data
}

type indexTerm struct {
	index raft.Index
	term  raft.Term
}

// Cluster collects observations and checks them as they arrive.
type Cluster struct {
	first *Violation

	// election safety: the leader of each term, and the voters that sent
	// a granted MsgVoteResp of a term to a candidate (election.go).
	leaders map[raft.Term]raft.NodeID
	grants  map[termCandidate][]raft.NodeID

	// log matching: every durable (index, term) seen, its entry and the
	// term of the entry before it (0: unknown, e.g. first after a snapshot).
	durable map[indexTerm]durableEntry

	// state machine safety: the entry applied at each index.
	applied map[raft.Index]entryID
	// commitTerm bounds from above the term in which the entry at an index
	// was committed: the current term of the first node to apply it (it
	// learned the commit from a leader of that term or earlier).
	commitTerm map[raft.Index]raft.Term
	maxApplied raft.Index
	nodeApply  map[raft.NodeID]raft.Index // last index applied per node

	// durability: per node, what it last reported durable.
	nodes map[raft.NodeID]*nodeDurable

	// one change at a time (confchange.go): the highest index known
	// committed, and per node the configuration entries of its durable
	// log that were above it when last looked at.
	commitHi raft.Index
	confs    map[raft.NodeID][]raft.Index
}

type durableEntry struct {
	id       entryID
	prevTerm raft.Term
}

type nodeDurable struct {
	hs        raft.HardState
	lastIndex raft.Index
	lastTerm  raft.Term
	snapIndex raft.Index

	// A write in flight (not yet reported durable) may partly or wholly
	// survive a crash even though it was never synced: it may replace the
	// entries from pendingFrom on (the entry before keeps pendingPrevTerm)
	// and set pendingHS.
	pending         bool
	pendingFrom     raft.Index
	pendingPrevTerm raft.Term
	pendingHS       raft.HardState
}

// New returns an empty checker.
func New() *Cluster {
	return &Cluster{
		leaders:    map[raft.Term]raft.NodeID{},
		grants:     map[termCandidate][]raft.NodeID{},
		durable:    map[indexTerm]durableEntry{},
		applied:    map[raft.Index]entryID{},
		commitTerm: map[raft.Index]raft.Term{},
		nodeApply:  map[raft.NodeID]raft.Index{},
		nodes:      map[raft.NodeID]*nodeDurable{},
		confs:      map[raft.NodeID][]raft.Index{},
	}
}

// Err returns the first violation, or nil.
func (c *Cluster) Err() error {
	if c.first == nil {
		return nil
	}
	return c.first
}

// Violation returns the first violation, or nil.
func (c *Cluster) Violation() *Violation { return c.first }

// Fail records a violation found by the caller (linearizability, liveness).
func (c *Cluster) Fail(checker, format string, args ...any) {
	if c.first == nil {
		c.first = &Violation{Checker: checker, Detail: fmt.Sprintf(format, args...)}
	}
}

func entryHash(e *raft.Entry) entryID {
	h := fnv.New64a()
	h.Write([]byte{byte(e.Type)})
	h.Write(e.Data)
	return entryID{term: e.Term, hash: h.Sum64()}
}

// MaxApplied is the highest index applied by any node.
func (c *Cluster) MaxApplied() raft.Index { return c.maxApplied }

// AppliedTerm returns the term of the entry applied at i, if any node
// applied one.
func (c *Cluster) AppliedTerm(i raft.Index) (raft.Term, bool) {
	e, ok := c.applied[i]
	return e.term, ok
}

// Persisted records that node id made hs and ents durable (one LogStore
// Append), and, if isLeader, checks leader completeness against its
// durable log s.
func (c *Cluster) Persisted(id raft.NodeID, hs raft.HardState, ents []raft.Entry, s raft.Storage, isLeader bool, leaderTerm raft.Term) {
	nd := c.node(id)
	nd.pending, nd.pendingFrom, nd.pendingHS = false, 0, raft.HardState{}
	if !hs.IsEmpty() {
		nd.hs = hs
	}
	for i := range ents {
		e := &ents[i]
		var prev raft.Term
		if i > 0 {
			prev = ents[i-1].Term
		} else if t, err := s.Term(e.Index - 1); err == nil {
			prev = t
		}
		c.logEntry(id, e, prev)
	}
	if len(ents) > 0 {
		last := ents[len(ents)-1]
		nd.lastIndex, nd.lastTerm = last.Index, last.Term
	}
	if isLeader {
		c.checkLeaderLog(id, leaderTerm, s)
	}
}

func (c *Cluster) logEntry(id raft.NodeID, e *raft.Entry, prev raft.Term) {
	k := indexTerm{e.Index, e.Term}
	de, ok := c.durable[k]
	if !ok {
		c.durable[k] = durableEntry{id: entryHash(e), prevTerm: prev}
		return
	}
	if de.id != entryHash(e) {
		c.Fail(LogMatching, "%s holds a different entry at index %d term %d than another node", id, e.Index, e.Term)
		return
	}
	if prev != 0 && de.prevTerm != 0 && prev != de.prevTerm {
		c.Fail(LogMatching, "%s: entry %d/%d follows term %d, elsewhere term %d", id, e.Index, e.Term, prev, de.prevTerm)
	}
	if de.prevTerm == 0 && prev != 0 {
		de.prevTerm = prev
		c.durable[k] = de
	}
}

// checkLeaderLog: a leader's durable log must agree with what was
// committed at min(lastIndex, maxApplied); log matching extends it to the
// whole prefix.
func (c *Cluster) checkLeaderLog(id raft.NodeID, term raft.Term, s raft.Storage) {
	last := s.LastIndex()
	k := min(last, c.maxApplied)
	if k == 0 || k <= s.Snapshot().Index {
		return
	}
	if term <= c.commitTerm[k] {
		// A leader of a term no later than the commit may legitimately
		// lack the entry (a deposed leader that has not heard yet).
		return
	}
	want := c.applied[k].term
	got, err := s.Term(k)
	if err != nil {
		if errors.Is(err, raft.ErrCompacted) {
			return
		}
		c.Fail(InternalError, "%s: term of %d: %v", id, k, err)
		return
	}
	if got != want {
		c.Fail(LeaderCompleteness, "leader %s of term %d holds term %d at index %d, but term %d was committed there (durable last index %d)", id, term, got, k, want, last)
	}
}

// SnapshotInstalled records that node id's state machine jumped to a
// snapshot at meta.Index.
func (c *Cluster) SnapshotInstalled(id raft.NodeID, meta raft.SnapshotMeta) {
	if prev := c.nodeApply[id]; meta.Index < prev {
		c.Fail(StateMachineSafety, "%s restored snapshot %d below its applied index %d", id, meta.Index, prev)
	}
	if t, ok := c.applied[meta.Index]; ok && t.term != meta.Term {
		c.Fail(StateMachineSafety, "%s installed snapshot %d/%d but term %d was applied there", id, meta.Index, meta.Term, t.term)
	}
	c.nodeApply[id] = meta.Index
	nd := c.node(id)
	nd.snapIndex = max(nd.snapIndex, meta.Index)
	if meta.Index > nd.lastIndex {
		nd.lastIndex, nd.lastTerm = meta.Index, meta.Term
	}
}

// Applied records that node id applied e to its state machine; nodeTerm
// returns the node's current term (asked only of the first node to apply
// an index).
func (c *Cluster) Applied(id raft.NodeID, e *raft.Entry, nodeTerm func() raft.Term) {
	if prev, ok := c.nodeApply[id]; ok && e.Index != prev+1 {
		c.Fail(StateMachineSafety, "%s applied index %d after %d", id, e.Index, prev)
	}
	c.nodeApply[id] = e.Index
	h := entryHash(e)
	if got, ok := c.applied[e.Index]; ok {
		if got != h {
			c.Fail(StateMachineSafety, "%s applied term %d at index %d, another node applied term %d there (or different data)", id, e.Term, e.Index, got.term)
		}
		return
	}
	c.applied[e.Index] = h
	c.commitTerm[e.Index] = max(nodeTerm(), e.Term)
	c.maxApplied = max(c.maxApplied, e.Index)
}

// Writing records that node id is about to write hs and entries from
// index from on (from = 0: none), or a snapshot whose entries after
// from-1 may be discarded; s is its log before the write.
func (c *Cluster) Writing(id raft.NodeID, hs raft.HardState, from raft.Index, s raft.Storage) {
	nd := c.node(id)
	if !nd.pending || from != 0 && (nd.pendingFrom == 0 || from < nd.pendingFrom) {
		if from != 0 {
			nd.pendingFrom = from
			nd.pendingPrevTerm, _ = s.Term(from - 1)
		}
	}
	if !hs.IsEmpty() {
		nd.pendingHS = hs
	}
	nd.pending = true
}

// Restarted checks that a node's reopened durable state holds what it
// reported durable before the crash, and resets its apply position to
// its snapshot (applied starts over from there).
func (c *Cluster) Restarted(id raft.NodeID, s raft.Storage) {
	nd := c.node(id)
	hs, snap, err := s.InitialState()
	if err != nil {
		c.Fail(Durability, "%s: reopen: %v", id, err)
		return
	}
	pendingHS := nd.pending && hs == nd.pendingHS
	switch {
	case hs.Term < nd.hs.Term:
		c.Fail(Durability, "%s lost its term: durable %d, reopened %d", id, nd.hs.Term, hs.Term)
	case hs.Term == nd.hs.Term && nd.hs.Vote != raft.None && hs.Vote != nd.hs.Vote && !pendingHS:
		c.Fail(Durability, "%s lost its vote in term %d: durable %q, reopened %q", id, hs.Term, nd.hs.Vote, hs.Vote)
	}
	last, lastTerm := nd.lastIndex, nd.lastTerm
	if nd.pending && nd.pendingFrom != 0 && nd.pendingFrom <= last {
		// The write in flight may have replaced entries from pendingFrom on.
		last, lastTerm = nd.pendingFrom-1, nd.pendingPrevTerm
	}
	if last > snap.Index && last > 0 && lastTerm != 0 {
		t, err := s.Term(last)
		switch {
		case err != nil && !errors.Is(err, raft.ErrCompacted):
			c.Fail(Durability, "%s lost durable entry %d (term %d): %v", id, last, lastTerm, err)
		case err == nil && t != lastTerm:
			c.Fail(Durability, "%s: durable entry %d had term %d, reopened term %d", id, last, lastTerm, t)
		}
	}
	nd.pending, nd.pendingFrom, nd.pendingHS = false, 0, raft.HardState{}
	nd.hs = hs
	nd.lastIndex = s.LastIndex()
	nd.lastTerm, _ = s.Term(nd.lastIndex)
	nd.snapIndex = snap.Index
	c.nodeApply[id] = snap.Index
}

// Acked checks that an acknowledged client write was committed: the entry
// applied at index has the term the proposal was appended in.
func (c *Cluster) Acked(index raft.Index, term raft.Term) {
	got, ok := c.applied[index]
	if !ok || got.term != term {
		c.Fail(StateMachineSafety, "write acknowledged at %d/%d but the entry applied there has term %d", index, term, got.term)
	}
}

func (c *Cluster) node(id raft.NodeID) *nodeDurable {
	nd := c.nodes[id]
	if nd == nil {
		nd = &nodeDurable{}
		c.nodes[id] = nd
	}
	return nd
}
