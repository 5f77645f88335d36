package drivertest

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// SnapshotStore is an in-memory driver.SnapshotStore: a sink's bytes become
// visible (durable) at Close. It keeps the newest Retain snapshots. Safe for
// concurrent use.
type SnapshotStore struct {
	Retain int

	mu    sync.Mutex
	snaps []memSnap // sorted by index; guarded by mu
}

type memSnap struct {
	meta raft.SnapshotMeta
	data []byte
}

// NewSnapshotStore returns an empty store keeping 2 snapshots.
func NewSnapshotStore() *SnapshotStore { return &SnapshotStore{Retain: 2} }

// Create implements driver.SnapshotStore.
func (s *SnapshotStore) Create(meta raft.SnapshotMeta) (driver.SnapshotSink, error) {
	return &memSink{store: s, meta: meta}, nil
}

// Open implements driver.SnapshotStore.
func (s *SnapshotStore) Open(index raft.Index) (raft.SnapshotMeta, io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sn := range s.snaps {
		if sn.meta.Index == index {
			return sn.meta, io.NopCloser(bytes.NewReader(sn.data)), nil
		}
	}
	return raft.SnapshotMeta{}, nil, fmt.Errorf("drivertest: no snapshot at %d", index)
}

// Latest implements driver.SnapshotStore.
func (s *SnapshotStore) Latest() (raft.SnapshotMeta, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.snaps) == 0 {
		return raft.SnapshotMeta{}, false, nil
	}
	return s.snaps[len(s.snaps)-1].meta, true, nil
}

// Indexes lists the stored snapshots' indexes (tests).
func (s *SnapshotStore) Indexes() []raft.Index {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []raft.Index
	for _, sn := range s.snaps {
		out = append(out, sn.meta.Index)
	}
	return out
}

// Put stores a snapshot directly (tests building crash states).
func (s *SnapshotStore) Put(meta raft.SnapshotMeta, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps = slices.DeleteFunc(s.snaps, func(sn memSnap) bool { return sn.meta.Index == meta.Index })
	s.snaps = append(s.snaps, memSnap{meta: meta, data: data})
	slices.SortFunc(s.snaps, func(a, b memSnap) int { return int(a.meta.Index) - int(b.meta.Index) })
	if s.Retain > 0 && len(s.snaps) > s.Retain {
		s.snaps = slices.Delete(s.snaps, 0, len(s.snaps)-s.Retain)
	}
}

type memSink struct {
	store *SnapshotStore
	meta  raft.SnapshotMeta
	buf   bytes.Buffer
	done  bool
}

func (k *memSink) Write(p []byte) (int, error) {
	if k.done {
		return 0, fmt.Errorf("drivertest: write after close")
	}
	return k.buf.Write(p)
}

func (k *memSink) Close() error {
	if k.done {
		return fmt.Errorf("drivertest: close twice")
	}
	k.done = true
	k.store.Put(k.meta, k.buf.Bytes())
	return nil
}

func (k *memSink) Abort() error {
	k.done = true
	return nil
}

// MemLog adapts raft.MemoryStorage to driver.LogStore.
type MemLog struct{ *raft.MemoryStorage }

// NewMemLog returns an empty in-memory log.
func NewMemLog() MemLog { return MemLog{raft.NewMemoryStorage()} }

// RecordSnapshot implements driver.LogStore.
func (m MemLog) RecordSnapshot(meta raft.SnapshotMeta) error {
	return m.CreateSnapshot(meta.Index, meta.Configuration, meta.ConfigIndex)
}
