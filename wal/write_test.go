package wal

import (
	"errors"
	"os"
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// TestWriteDamageTornOrCorrupt zeroes a whole batch written by Write and
// followed by another batch, on a real file, as a crash that dropped the
// unsynced write would (its bytes were zero-filled): if the later batch was
// written before the damaged one was synced (its commit's durableEnd lies
// before it), the damage may be a crash's tear and the log ends before it;
// if it was written after the damaged one was synced, the damage is
// corruption of acknowledged data and Open reports it.
func TestWriteDamageTornOrCorrupt(t *testing.T) {
	tests := []struct {
		name        string
		syncFirst   bool // sync the damaged batch before writing the next
		wantCorrupt bool
	}{
		{name: "next written while unsynced: torn tail", syncFirst: false, wantCorrupt: false},
		{name: "next written after its sync: corruption", syncFirst: true, wantCorrupt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(vfs.OS{}, dir, realFileConfig())
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, raft.HardState{Term: 1, Commit: 1}, ents(1, 6, 1))
			sync1, err := l.Write(raft.HardState{}, ents(6, 9, 1))
			if err != nil {
				t.Fatal(err)
			}
			if tt.syncFirst {
				if err := sync1(); err != nil {
					t.Fatal(err)
				}
			}
			sync2, err := l.Write(raft.HardState{}, ents(9, 11, 1))
			if err != nil {
				t.Fatal(err)
			}
			if err := sync2(); err != nil { // both durable now
				t.Fatal(err)
			}
			// The damaged batch is entries 6..8; the next starts at 9.
			path, from, to := l.segs[0].path, l.idx.locs[5].off, l.idx.locs[8].off
			l.Close()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			clear(raw[from:to])
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}

			l, err = Open(vfs.OS{}, dir, realFileConfig())
			var ce *CorruptionError
			if tt.wantCorrupt {
				if !errors.As(err, &ce) || ce.Offset != from {
					t.Fatalf("Open err = %v, want *CorruptionError at %d", err, from)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer l.Close()
			// The known limit: both batches had been synced, but nothing
			// on disk says so, exactly as for the final batch of a log.
			checkEntries(t, l, 1, ents(1, 6, 1))
		})
	}
}
