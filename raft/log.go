package raft

import (
	"errors"
	"fmt"
)

// raftLog is the node's view of its log: the durable part read through
// Storage, plus the unstable tail the core keeps until the driver reports it
// durable (Node.Persisted).
//
// Invariant: applied <= applying <= committed <= lastIndex().
// Invariant: entries below unstable.offset are durable in storage and match
// the node's log; entries at or above it are read from unstable only (the
// driver may already have overwritten storage there on a truncation).
type raftLog struct {
	storage  Storage
	unstable unstable

	// committed is the highest index known committed (§5.3).
	committed Index
	// applying is the highest index handed out in Ready.CommittedEntries.
	applying Index
	// applied is the highest index the driver reported applied.
	applied Index

	maxApplyBytes uint64
	// applyUnstable: committed entries may be handed out for applying
	// before they are durable locally (a leader with
	// Config.ApplyBeforeLocalDurable; set by becomeLeader, cleared by
	// every other role change).
	applyUnstable bool
}

// unstable holds entries and a snapshot that are not yet durable.
type unstable struct {
	// snapshot is a received snapshot not yet reported durable.
	snapshot *SnapshotMeta
	// snapshotInProgress: snapshot was handed out in a Ready.
	snapshotInProgress bool
	// entries[i] has index offset+i.
	entries []Entry
	offset  Index
	// offsetInProgress: entries in [offset, offsetInProgress) were handed out
	// in a Ready and await Persisted. Invariant: offset <= offsetInProgress
	// <= offset+len(entries).
	offsetInProgress Index
	// truncations counts log truncations (and snapshot restores, which
	// replace the log). A PersistMark records it, so that a mark made
	// before a truncation cannot vouch for entries appended after it.
	truncations uint64
}

func newRaftLog(s Storage, maxApplyBytes uint64) *raftLog {
	last := s.LastIndex()
	return &raftLog{
		storage:       s,
		unstable:      unstable{offset: last + 1, offsetInProgress: last + 1},
		maxApplyBytes: maxApplyBytes,
	}
}

func (l *raftLog) firstIndex() Index {
	if l.unstable.snapshot != nil {
		return l.unstable.snapshot.Index + 1
	}
	return l.storage.FirstIndex()
}

func (l *raftLog) lastIndex() Index {
	u := &l.unstable
	if n := len(u.entries); n > 0 {
		return u.offset + Index(n) - 1
	}
	if u.snapshot != nil {
		return u.snapshot.Index
	}
	return l.storage.LastIndex()
}

func (l *raftLog) lastTerm() Term {
	t, err := l.term(l.lastIndex())
	if err != nil {
		panic(fmt.Sprintf("raft: term of last index %d: %v", l.lastIndex(), err))
	}
	return t
}

// term returns the term of entry i. ErrCompacted below the first index - 1,
// ErrUnavailable above the last index.
func (l *raftLog) term(i Index) (Term, error) {
	u := &l.unstable
	if i >= u.offset && i < u.offset+Index(len(u.entries)) {
		return u.entries[i-u.offset].Term, nil
	}
	if s := u.snapshot; s != nil {
		switch {
		case i == s.Index:
			return s.Term, nil
		case i < s.Index:
			return 0, ErrCompacted
		}
	}
	if i > l.lastIndex() {
		return 0, ErrUnavailable
	}
	return l.storage.Term(i)
}

// matchTerm reports whether the log holds an entry at i with term t.
func (l *raftLog) matchTerm(i Index, t Term) bool {
	lt, err := l.term(i)
	return err == nil && lt == t
}

// isUpToDate is the §5.4.1 election restriction: compare last terms, then
// last indexes.
func (l *raftLog) isUpToDate(lastIndex Index, lastTerm Term) bool {
	ourTerm := l.lastTerm()
	return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= l.lastIndex())
}

// entries returns entries in [lo, hi), at most maxBytes of them (but at least
// one when the range is not empty).
func (l *raftLog) entries(lo, hi Index, maxBytes uint64) ([]Entry, error) {
	if lo >= hi {
		return nil, nil
	}
	if lo < l.firstIndex() {
		return nil, ErrCompacted
	}
	if hi > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: entries [%d, %d) beyond last index %d", lo, hi, l.lastIndex()))
	}
	u := &l.unstable
	var out []Entry
	var size uint64
	if lo < u.offset {
		stop := min(hi, u.offset)
		ents, err := l.storage.Entries(lo, stop, maxBytes)
		if err != nil {
			return nil, err
		}
		if Index(len(ents)) < stop-lo {
			return ents, nil // byte limit reached inside storage
		}
		out = ents
		for i := range ents {
			size += ents[i].Size()
		}
		lo = stop
	}
	if lo < hi {
		us := u.entries[lo-u.offset : hi-u.offset]
		n := 0
		for n < len(us) {
			s := us[n].Size()
			if (len(out) > 0 || n > 0) && size+s > maxBytes {
				break
			}
			size += s
			n++
		}
		if out == nil {
			out = us[:n:n]
		} else if n > 0 {
			out = append(out[:len(out):len(out)], us[:n]...)
		}
	}
	return out, nil
}

// findConflict returns the index of the first entry of ents that the log does
// not hold (different term or missing), or 0 if it holds them all.
func (l *raftLog) findConflict(ents []Entry) Index {
	for i := range ents {
		if !l.matchTerm(ents[i].Index, ents[i].Term) {
			return ents[i].Index
		}
	}
	return 0
}

// findConflictByTerm returns the largest index <= i whose term is <= t, or
// the first index - 1 if the search runs into the compacted prefix. Used by
// the leader to pick the next index after a rejection (fast backtracking).
func (l *raftLog) findConflictByTerm(i Index, t Term) (Index, Term) {
	for ; i > 0; i-- {
		lt, err := l.term(i)
		if err != nil {
			return i, 0
		}
		if lt <= t {
			return i, lt
		}
	}
	return 0, 0
}

// append adds ents to the tail, truncating the log from ents[0].Index if it
// is not past the end. Returns the new last index.
func (l *raftLog) append(ents ...Entry) Index {
	if len(ents) == 0 {
		return l.lastIndex()
	}
	if after := ents[0].Index - 1; after < l.committed {
		panic(fmt.Sprintf("raft: append after %d would truncate committed %d", after, l.committed))
	}
	l.unstable.truncateAndAppend(ents)
	return l.lastIndex()
}

func (u *unstable) truncateAndAppend(ents []Entry) {
	from := ents[0].Index
	end := u.offset + Index(len(u.entries))
	if from < end {
		u.truncations++
	}
	switch {
	case from == end:
		u.entries = append(u.entries, ents...)
	case from <= u.offset:
		// Replace everything unstable; storage at and above from is stale and
		// will be overwritten by the driver (Ready.Entries starts at from).
		u.entries = append([]Entry(nil), ents...)
		u.offset = from
		u.offsetInProgress = from
	default:
		keep := u.entries[:from-u.offset]
		u.entries = append(append(make([]Entry, 0, len(keep)+len(ents)), keep...), ents...)
		u.offsetInProgress = min(u.offsetInProgress, from)
	}
}

// commitTo advances committed; it never moves back.
func (l *raftLog) commitTo(i Index) {
	if i <= l.committed {
		return
	}
	if last := l.lastIndex(); i > last {
		panic(fmt.Sprintf("raft: commit %d beyond last index %d", i, last))
	}
	l.committed = i
}

// durableLast is the highest index such that every entry up to it is durable
// locally. Nothing is durable past a snapshot that is not yet persisted.
func (l *raftLog) durableLast() Index {
	if l.unstable.snapshot != nil {
		return 0
	}
	return l.unstable.offset - 1
}

// maxAppliable is the highest index that may be handed out for applying:
// committed and durable locally, or just committed with applyUnstable
// (committed entries are never truncated, so they may be read from
// unstable and applied before the driver's write of them returns).
func (l *raftLog) maxAppliable() Index {
	if l.applyUnstable {
		return l.committed
	}
	return min(l.committed, l.durableLast())
}

func (l *raftLog) hasNextCommittedEnts() bool {
	return l.unstable.snapshot == nil && l.applying < l.maxAppliable()
}

// nextCommittedEnts returns entries to apply, bounded by maxApplyBytes, and
// marks them applying.
func (l *raftLog) nextCommittedEnts() []Entry {
	if !l.hasNextCommittedEnts() {
		return nil
	}
	ents, err := l.entries(l.applying+1, l.maxAppliable()+1, l.maxApplyBytes)
	if err != nil {
		panic(fmt.Sprintf("raft: committed entries (%d, %d]: %v", l.applying, l.maxAppliable(), err))
	}
	if len(ents) > 0 {
		l.applying = ents[len(ents)-1].Index
	}
	return ents
}

func (l *raftLog) appliedTo(i Index) {
	if i <= l.applied {
		return
	}
	if i > l.applying {
		panic(fmt.Sprintf("raft: Applied(%d) beyond entries handed out for applying (%d)", i, l.applying))
	}
	l.applied = i
}

// hasUnstableToPersist reports whether entries or a snapshot await handing out.
func (l *raftLog) hasUnstableToPersist() bool {
	u := &l.unstable
	return u.offsetInProgress < u.offset+Index(len(u.entries)) ||
		(u.snapshot != nil && !u.snapshotInProgress)
}

// takeUnstable hands out entries and snapshot not yet given to the driver.
func (l *raftLog) takeUnstable() ([]Entry, *SnapshotMeta) {
	u := &l.unstable
	var snap *SnapshotMeta
	if u.snapshot != nil && !u.snapshotInProgress {
		s := *u.snapshot
		snap = &s
		u.snapshotInProgress = true
	}
	end := u.offset + Index(len(u.entries))
	var ents []Entry
	if u.offsetInProgress < end {
		ents = u.entries[u.offsetInProgress-u.offset:]
		ents = ents[:len(ents):len(ents)]
		u.offsetInProgress = end
	}
	return ents, snap
}

// stableTo drops unstable entries up to i once they are durable. It ignores
// a mark made before a later truncation (truncations differs): the Ready
// carrying that truncation is not yet durable, and once it is written the
// disk no longer holds what the old mark covered, even when entries with the
// same (index, term) were appended again since (ABA). It also ignores a mark
// whose entry was replaced. The Ready carrying the replacement has a later
// mark that covers it.
func (l *raftLog) stableTo(i Index, t Term, truncations uint64) bool {
	u := &l.unstable
	if truncations != u.truncations {
		return false
	}
	if i < u.offset || i >= u.offset+Index(len(u.entries)) || u.entries[i-u.offset].Term != t {
		return false
	}
	n := i + 1 - u.offset
	u.entries = u.entries[n:]
	if len(u.entries) == 0 {
		u.entries = nil // release the backing array
	}
	u.offset = i + 1
	u.offsetInProgress = max(u.offsetInProgress, u.offset)
	return true
}

// stableSnapTo clears the pending snapshot once it is durable.
func (l *raftLog) stableSnapTo(i Index) bool {
	u := &l.unstable
	if u.snapshot == nil || u.snapshot.Index != i {
		return false
	}
	u.snapshot = nil
	u.snapshotInProgress = false
	l.applying = max(l.applying, i)
	l.applied = max(l.applied, i)
	return true
}

// restore replaces the whole log with a received snapshot.
func (l *raftLog) restore(meta SnapshotMeta) {
	m := meta
	l.committed = meta.Index
	l.unstable = unstable{
		snapshot:         &m,
		entries:          nil,
		offset:           meta.Index + 1,
		offsetInProgress: meta.Index + 1,
		truncations:      l.unstable.truncations + 1,
	}
}

// scanConfigs calls fn for every config entry in [lo, hi], reading in batches
// of at most batchBytes.
func (l *raftLog) scanConfigs(lo, hi Index, batchBytes uint64, fn func(Entry) error) error {
	for lo <= hi {
		ents, err := l.entries(lo, hi+1, batchBytes)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			return errors.New("raft: storage returned no entries")
		}
		for i := range ents {
			if ents[i].Type == EntryConfig {
				if err := fn(ents[i]); err != nil {
					return err
				}
			}
		}
		lo = ents[len(ents)-1].Index + 1
	}
	return nil
}
