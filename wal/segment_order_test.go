package wal

import (
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// A truncation back into an older segment, then a rotation: the new
// segment's first index is below the segment holding the truncate record.
func TestSegmentsReplayedInSequenceOrder(t *testing.T) {
	fsys := vfs.NewMem()
	l := mustOpen(t, fsys, TestConfig())
	for i := raft.Index(1); i < 41; i += 5 {
		mustAppend(t, l, raft.HardState{}, ents(i, i+5, 1))
	}
	first := l.segs[len(l.segs)-1].firstIndex
	// Truncate below the active segment's first index, then append until
	// a new segment starts.
	mustAppend(t, l, raft.HardState{Term: 2}, ents(first-3, first-2, 2))
	next := first - 2
	for l.segs[len(l.segs)-1].firstIndex >= first && next < first+30 {
		mustAppend(t, l, raft.HardState{}, ents(next, next+1, 2))
		next++
	}
	t.Logf("active segment started at %d; new segment starts at %d; last %d", first, l.segs[len(l.segs)-1].firstIndex, l.LastIndex())
	want := append(ents(1, first-3, 1), ents(first-3, next, 2)...)
	checkEntries(t, l, 1, want)
	l.Close()
	l2, err := Open(fsys, testDir, TestConfig())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer l2.Close()
	checkEntries(t, l2, 1, want)
}
