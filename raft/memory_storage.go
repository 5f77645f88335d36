package raft

import (
	"fmt"
	"sync"
)

// MemoryStorage is an in-memory LogStore for tests, the simulator and the
// in-process benchmark. "Durable" means "in memory": every write is visible
// as soon as the method returns.
//
// It is safe for concurrent use. Slices it returns must not be modified.
type MemoryStorage struct {
	mu sync.Mutex
	hs HardState
	// snap is the latest snapshot's metadata.
	snap SnapshotMeta
	// ents[0] is a dummy holding the index and term of the last discarded
	// entry (FirstIndex()-1); real entries follow.
	// Invariant: ents[i].Index == ents[0].Index + i.
	ents []Entry
}

// NewMemoryStorage returns an empty store.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{ents: make([]Entry, 1)}
}

// InitialState implements Storage.
func (ms *MemoryStorage) InitialState() (HardState, SnapshotMeta, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.hs, ms.snap, nil
}

// HardState returns the stored hard state (tests).
func (ms *MemoryStorage) HardState() HardState {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.hs
}

func (ms *MemoryStorage) first() Index { return ms.ents[0].Index + 1 }
func (ms *MemoryStorage) last() Index  { return ms.ents[0].Index + Index(len(ms.ents)) - 1 }

// FirstIndex implements Storage.
func (ms *MemoryStorage) FirstIndex() Index {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.first()
}

// LastIndex implements Storage.
func (ms *MemoryStorage) LastIndex() Index {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.last()
}

// Snapshot implements Storage.
func (ms *MemoryStorage) Snapshot() SnapshotMeta {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.snap
}

// Term implements Storage.
func (ms *MemoryStorage) Term(i Index) (Term, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	off := ms.ents[0].Index
	if i < off {
		return 0, ErrCompacted
	}
	if i > ms.last() {
		return 0, ErrUnavailable
	}
	return ms.ents[i-off].Term, nil
}

// Entries implements Storage.
func (ms *MemoryStorage) Entries(lo, hi Index, maxBytes uint64) ([]Entry, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	off := ms.ents[0].Index
	if lo <= off {
		return nil, ErrCompacted
	}
	if hi > ms.last()+1 {
		return nil, ErrUnavailable
	}
	if lo >= hi {
		return nil, nil
	}
	ents := ms.ents[lo-off : hi-off]
	var size uint64
	n := 0
	for n < len(ents) {
		size += ents[n].Size()
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	return ents[:n:n], nil
}

// Append implements LogStore.
func (ms *MemoryStorage) Append(hs HardState, ents []Entry) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if !hs.IsEmpty() {
		ms.hs = hs
	}
	if len(ents) == 0 {
		return nil
	}
	off := ms.ents[0].Index
	from := ents[0].Index
	if from <= off {
		// Entries already covered by the snapshot: skip them.
		skip := off + 1 - from
		if skip >= Index(len(ents)) {
			return nil
		}
		ents = ents[skip:]
		from = ents[0].Index
	}
	if from > ms.last()+1 {
		return fmt.Errorf("raft: memory storage: append at %d leaves a gap after %d", from, ms.last())
	}
	keep := ms.ents[:from-off]
	if from <= ms.last() {
		// Truncation: copy so that slices handed out earlier stay intact.
		keep = append(make([]Entry, 0, len(keep)+len(ents)), keep...)
	}
	ms.ents = append(keep, ents...)
	return nil
}

// ApplySnapshot implements LogStore: entries after a matching entry at
// meta.Index are kept (Figure 13 step 6), otherwise the log is discarded.
func (ms *MemoryStorage) ApplySnapshot(meta SnapshotMeta) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if meta.Index <= ms.snap.Index && !ms.snap.IsEmpty() {
		return ErrSnapshotOutOfDate
	}
	off := ms.ents[0].Index
	var rest []Entry
	if meta.Index > off && meta.Index <= ms.last() && ms.ents[meta.Index-off].Term == meta.Term {
		rest = ms.ents[meta.Index-off+1:]
	}
	ents := make([]Entry, 1, 1+len(rest))
	ents[0] = Entry{Index: meta.Index, Term: meta.Term}
	ms.ents = append(ents, rest...)
	ms.snap = meta
	if ms.hs.Commit < meta.Index {
		ms.hs.Commit = meta.Index
	}
	return nil
}

// CreateSnapshot records a snapshot the local state machine took at i, whose
// configuration is conf (tests and the simulator). The log is not compacted.
func (ms *MemoryStorage) CreateSnapshot(i Index, conf Configuration, confIndex Index) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if i <= ms.snap.Index {
		return ErrSnapshotOutOfDate
	}
	off := ms.ents[0].Index
	if i < off || i > ms.last() {
		return fmt.Errorf("raft: memory storage: snapshot at %d outside log [%d, %d]", i, off, ms.last())
	}
	ms.snap = SnapshotMeta{Index: i, Term: ms.ents[i-off].Term, Configuration: conf, ConfigIndex: confIndex}
	return nil
}

// Compact implements LogStore.
func (ms *MemoryStorage) Compact(i Index) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	off := ms.ents[0].Index
	if i <= off {
		return nil
	}
	if i > ms.snap.Index {
		return fmt.Errorf("raft: memory storage: compact %d beyond snapshot %d", i, ms.snap.Index)
	}
	ents := make([]Entry, 1, 1+Index(len(ms.ents))-(i-off)-1)
	ents[0] = Entry{Index: i, Term: ms.ents[i-off].Term}
	ms.ents = append(ents, ms.ents[i-off+1:]...)
	return nil
}

// Close implements LogStore.
func (ms *MemoryStorage) Close() error { return nil }

var _ LogStore = (*MemoryStorage)(nil)
