package wal

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

const snapDir = "/snap"

func writeSnap(t *testing.T, s *SnapshotStore, meta raft.SnapshotMeta, body []byte) {
	t.Helper()
	k, err := s.Create(meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
}

func readSnap(s *SnapshotStore, i raft.Index) (raft.SnapshotMeta, []byte, error) {
	meta, r, err := s.Open(i)
	if err != nil {
		return meta, nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return meta, b, err
}

func TestSnapshotRoundTripAndRetention(t *testing.T) {
	fsys := vfs.NewMem()
	s, err := OpenSnapshotStore(fsys, snapDir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Latest(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Latest on empty = %v", err)
	}
	metas := []raft.SnapshotMeta{
		{Index: 10, Term: 1, ConfigIndex: 1, Configuration: raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "a:1", Suffrage: raft.Voter}}}},
		{Index: 20, Term: 2, ConfigIndex: 1, Configuration: raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "a:1", Suffrage: raft.Voter}}}},
		{Index: 30, Term: 2, ConfigIndex: 25, Configuration: raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "a:1", Suffrage: raft.Voter}, {ID: "b", Address: "b:1", Suffrage: raft.Nonvoter}}}},
	}
	for _, m := range metas {
		writeSnap(t, s, m, bytes.Repeat([]byte{byte(m.Index)}, 1000+int(m.Index)))
	}
	latest, err := s.Latest()
	if err != nil || !reflect.DeepEqual(latest, metas[2]) {
		t.Fatalf("Latest = %+v, %v", latest, err)
	}
	if _, _, err := readSnap(s, 10); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("snapshot 10 should be pruned: %v", err)
	}
	for _, m := range metas[1:] {
		got, body, err := readSnap(s, m.Index)
		if err != nil || !reflect.DeepEqual(got, m) || !bytes.Equal(body, bytes.Repeat([]byte{byte(m.Index)}, 1000+int(m.Index))) {
			t.Fatalf("snapshot %d: meta %+v, %d bytes, %v", m.Index, got, len(body), err)
		}
	}
}

func TestSnapshotCorruptBodyDetected(t *testing.T) {
	fsys := vfs.NewMem()
	s, _ := OpenSnapshotStore(fsys, snapDir, 1)
	meta := raft.SnapshotMeta{Index: 5, Term: 1}
	writeSnap(t, s, meta, bytes.Repeat([]byte("x"), 4096))
	if err := fsys.FlipByte(filepath.Join(snapDir, snapName(meta)), 2000); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readSnap(s, 5); err == nil {
		t.Fatal("corrupt body read without error")
	}
}

func TestSnapshotCancelAndCrash(t *testing.T) {
	fsys := vfs.NewMem()
	s, _ := OpenSnapshotStore(fsys, snapDir, 1)
	writeSnap(t, s, raft.SnapshotMeta{Index: 5, Term: 1}, []byte("five"))
	k, _ := s.Create(raft.SnapshotMeta{Index: 6, Term: 1})
	k.Write([]byte("six"))
	if err := k.Cancel(); err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.ReadDir(snapDir); len(names) != 1 {
		t.Fatalf("after cancel: %v", names)
	}
	// A crash while a snapshot is being written leaves the old one
	// readable, and the leftover temp file is cleaned up on open.
	for seed := range uint64(30) {
		c := fsys.Clone()
		s2, _ := OpenSnapshotStore(c, snapDir, 1)
		k, _ := s2.Create(raft.SnapshotMeta{Index: 7, Term: 1})
		k.Write([]byte("seven"))
		c.Crash(rand.New(rand.NewPCG(seed, 0)))
		s3, err := OpenSnapshotStore(c, snapDir, 1)
		if err != nil {
			t.Fatal(err)
		}
		if m, body, err := readSnap(s3, 5); err != nil || m.Index != 5 || string(body) != "five" {
			t.Fatalf("seed %d: %+v %q %v", seed, m, body, err)
		}
		if names, _ := c.ReadDir(snapDir); len(names) != 1 {
			t.Fatalf("seed %d: leftovers %v", seed, names)
		}
	}
}

// TestReconcileSnapshot: a crash after the snapshot file became durable
// but before the log recorded it is resolved in favour of the file.
func TestReconcileSnapshot(t *testing.T) {
	fsys := vfs.NewMem()
	l := mustOpen(t, fsys, TestConfig())
	mustAppend(t, l, raft.HardState{Term: 1, Commit: 20}, ents(1, 31, 1))
	s, _ := OpenSnapshotStore(fsys, snapDir, 1)
	meta := raft.SnapshotMeta{Index: 20, Term: 1}
	writeSnap(t, s, meta, []byte("state"))
	// crash here: the log never heard of snapshot 20
	got, err := ReconcileSnapshot(l, s)
	if err != nil || got.Index != 20 {
		t.Fatalf("Reconcile = %+v, %v", got, err)
	}
	if l.Snapshot().Index != 20 || l.FirstIndex() != 21 || l.LastIndex() != 30 {
		t.Fatalf("log after reconcile: snap %d first %d last %d", l.Snapshot().Index, l.FirstIndex(), l.LastIndex())
	}
	// Idempotent.
	if got, err := ReconcileSnapshot(l, s); err != nil || got.Index != 20 {
		t.Fatalf("second Reconcile = %+v, %v", got, err)
	}
	l.Close()
}
