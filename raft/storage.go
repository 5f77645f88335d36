package raft

import "errors"

// Errors a Storage returns. They are operating errors, not invariant
// violations: the core handles them (e.g. by sending a snapshot).
var (
	// ErrCompacted: the requested index is at or below the snapshot and its
	// entry has been discarded.
	ErrCompacted = errors.New("raft: requested index is compacted")
	// ErrUnavailable: the requested index is above the last index.
	ErrUnavailable = errors.New("raft: requested entry is unavailable")
	// ErrSnapshotOutOfDate: a snapshot older than the current one was offered.
	ErrSnapshotOutOfDate = errors.New("raft: snapshot is older than the current one")
)

// Storage is the read side of the durable log as the core sees it. It only
// ever reflects writes that the driver has made durable (LogStore.Append,
// LogStore.ApplySnapshot, LogStore.Compact). Entries still being written are
// kept by the core itself until Node.Persisted acknowledges them.
//
// Implementations must be safe for reads concurrent with the driver's
// writes (the driver may write on its own goroutine).
//
// Invariant: FirstIndex()-1 <= Snapshot().Index (trailing entries are kept
// after a snapshot, like Consul's raft_trailing_logs); FirstIndex() <=
// LastIndex()+1; Snapshot().Index <= LastIndex().
type Storage interface {
	// InitialState returns the durable hard state and the latest snapshot
	// metadata (empty when there is none).
	InitialState() (HardState, SnapshotMeta, error)
	// Entries returns entries in [lo, hi), stopping once their total Size()
	// exceeds maxBytes, but always returning at least one entry when the
	// range is non-empty. ErrCompacted if lo < FirstIndex(); ErrUnavailable
	// if hi > LastIndex()+1.
	Entries(lo, hi Index, maxBytes uint64) ([]Entry, error)
	// Term returns the term of entry i for i in [FirstIndex()-1, LastIndex()]
	// (the store remembers the term of the last discarded entry, which after
	// ApplySnapshot is the snapshot's). ErrCompacted below, ErrUnavailable
	// above.
	Term(i Index) (Term, error)
	// FirstIndex is the index of the first entry still in the log.
	FirstIndex() Index
	// LastIndex is the index of the last durable entry (the snapshot index
	// when the log is empty).
	LastIndex() Index
	// Snapshot returns the latest durable snapshot's metadata.
	Snapshot() SnapshotMeta
}

// LogStore is the write side the driver uses. Every method returns only
// after its effect is durable; any write or fsync error is reported and the
// caller must treat it as fatal (never retry an fsync).
type LogStore interface {
	Storage
	// Append durably writes ents and, when not empty, hs, with one fsync.
	// If ents[0].Index <= LastIndex(), every entry from ents[0].Index on is
	// replaced (suffix truncation on a log conflict) and the replaced
	// entries never reappear, even after a crash. Either argument may be
	// empty.
	Append(hs HardState, ents []Entry) error
	// ApplySnapshot durably records meta as the latest snapshot. Log entries
	// covered by it are discarded, except that if the log holds an entry at
	// meta.Index with meta.Term, the entries after it are kept (Figure 13,
	// step 6); otherwise the whole log is discarded.
	ApplySnapshot(meta SnapshotMeta) error
	// Compact discards entries with index <= i (prefix truncation after a
	// local snapshot). i must be <= Snapshot().Index.
	Compact(i Index) error
	// Close releases files. The store must not be used afterwards.
	Close() error
}
