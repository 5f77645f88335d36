package raft

import "fmt"

// Role is a node's current role.
type Role uint8

const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "Follower"
	case PreCandidate:
		return "PreCandidate"
	case Candidate:
		return "Candidate"
	case Leader:
		return "Leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// SoftState is volatile state the driver may want to observe (leadership).
type SoftState struct {
	Lead NodeID
	Role Role
}

// ReadState answers a ReadIndex request: once the local state machine has
// applied Index, a read issued with Context may be served linearizably.
type ReadState struct {
	Index   Index
	Context []byte
}

// PersistMark identifies what one Ready asked to be made durable. The driver
// hands it back through Node.Persisted once the Ready's HardState, Entries
// and Snapshot are durable. Marks must be acknowledged in the order the
// Readys were produced.
type PersistMark struct {
	LastIndex     Index // index of the last entry in Ready.Entries (0 if none)
	LastTerm      Term  // term of that entry
	HardState     HardState
	SnapshotIndex Index // Ready.Snapshot.Index, 0 if none

	// truncations is the core's count of log truncations when the Ready
	// was made. A mark from before a later truncation never marks entries
	// durable: the truncating write still to come removes them from disk,
	// even if equal (index, term) entries were appended again since (the
	// ABA case; see raftLog.stableTo). Drivers just hand the mark back.
	truncations uint64
}

// Ready is a batch of work the core hands to its driver. The driver must
// process it in this order:
//
//  1. Send Messages at once (they vouch for nothing not yet durable: a
//     leader's AppendEntries may overlap its own disk write, thesis §10.2.1).
//  2. If Snapshot is set: restore the state machine from the staged snapshot
//     file for Snapshot.Index, then LogStore.ApplySnapshot.
//  3. LogStore.Append(HardState, Entries) — one fsync.
//  4. Only then send MessagesAfterPersist (votes, vote requests, append
//     acknowledgements) and call Node.Persisted(Persist).
//  5. Apply CommittedEntries in order (they are all durable locally, except
//     on a leader with Config.ApplyBeforeLocalDurable: there they are
//     committed on a quorum but may still be in this or an earlier Ready's
//     Entries whose Append has not returned; the state machine must then
//     be one rebuilt from disk after a restart), then call Node.Applied
//     with the last applied index. ReadStates are served once applied >=
//     ReadState.Index.
//
// Steps 2–4 may run on a disk goroutine while the driver keeps stepping
// messages and taking further Readys; steps 2–4 of successive Readys must
// run in order. Step 5 may run on an apply goroutine.
type Ready struct {
	// SoftState is non-nil when leadership or role changed.
	SoftState *SoftState
	// HardState to persist; empty when unchanged.
	HardState HardState
	// Entries to append durably. Entries[0].Index may be <= the last index
	// written before: the log is truncated from there.
	Entries []Entry
	// Snapshot is a received snapshot to install, or nil.
	Snapshot *SnapshotMeta
	// Messages may be sent immediately.
	Messages []Message
	// MessagesAfterPersist may be sent only after this Ready's Snapshot,
	// HardState and Entries are durable.
	MessagesAfterPersist []Message
	// CommittedEntries are to be applied, in index order.
	CommittedEntries []Entry
	// ReadStates are ReadIndex results.
	ReadStates []ReadState
	// Persist is handed back to Node.Persisted after step 3.
	Persist PersistMark
}

// MustPersist reports whether the driver has disk work for this Ready.
func (rd *Ready) MustPersist() bool {
	return !rd.HardState.IsEmpty() || len(rd.Entries) > 0 || rd.Snapshot != nil
}

// ProgressState is how the leader replicates to one follower.
type ProgressState uint8

const (
	ProgressProbe     ProgressState = iota // one AppendEntries at a time, finding the match point
	ProgressReplicate                      // pipelined, up to Config.MaxInflightMsgs
	ProgressSnapshot                       // waiting for a snapshot transfer to finish
)

func (s ProgressState) String() string {
	switch s {
	case ProgressProbe:
		return "Probe"
	case ProgressReplicate:
		return "Replicate"
	case ProgressSnapshot:
		return "Snapshot"
	}
	return fmt.Sprintf("ProgressState(%d)", uint8(s))
}

// Progress is the leader's view of one follower.
type Progress struct {
	Match, Next  Index
	State        ProgressState
	RecentActive bool
}

// Status is a snapshot of a node's state for observation and tests.
type Status struct {
	ID            NodeID
	HardState     HardState
	SoftState     SoftState
	Applied       Index
	LastIndex     Index
	Configuration Configuration
	Progress      map[NodeID]Progress // leader only
}
