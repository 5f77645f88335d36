package wal

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// TestTornWriteInsideAppend tears the write of a batch at every byte
// count, then crashes: the acknowledged batches always survive intact and
// the torn one never appears in part (it may appear whole only when the
// write got every byte out before failing).
func TestTornWriteInsideAppend(t *testing.T) {
	base := vfs.NewMem()
	l := mustOpen(t, base, TestConfig())
	mustAppend(t, l, raft.HardState{Term: 1, Commit: 5}, ents(1, 6, 1))
	mustAppend(t, l, raft.HardState{Term: 1, Commit: 10}, ents(6, 11, 1))
	l.Close()
	acked := ents(1, 11, 1)
	torn := ents(8, 14, 2) // also truncates 8..10: that must not stick either
	for n := 0; n < 600; n += 7 {
		for seed := range uint64(3) {
			fsys := base.Clone()
			l := mustOpen(t, fsys, TestConfig())
			batchLen := 0
			fsys.SetFaults(&vfs.Faults{Write: func(_ string, p []byte) (int, error) {
				batchLen = len(p)
				return n, syscall.ENOSPC
			}})
			err := l.Append(raft.HardState{Term: 2, Commit: 9}, torn)
			if !IsFatal(err) {
				t.Fatalf("n=%d: Append err = %v, want fatal", n, err)
			}
			fsys.SetFaults(nil)
			fsys.Crash(rand.New(rand.NewPCG(seed, uint64(n))))
			l, err = Open(fsys, testDir, TestConfig())
			if err != nil {
				t.Fatalf("n=%d seed=%d: reopen: %v", n, seed, err)
			}
			// A write that got all its bytes out before failing may
			// survive whole: then the batch is there entirely.
			want, commit := acked, raft.Index(10)
			if l.LastIndex() != 10 {
				if n < batchLen {
					t.Fatalf("n=%d seed=%d: a batch torn at %d of %d bytes was recovered", n, seed, n, batchLen)
				}
				want, commit = append(ents(1, 8, 1), torn...), 9
			}
			checkEntries(t, l, 1, want)
			if hs, _, _ := l.InitialState(); hs.Commit != commit {
				t.Fatalf("n=%d seed=%d: hard state %+v", n, seed, hs)
			}
			l.Close()
		}
	}
}
