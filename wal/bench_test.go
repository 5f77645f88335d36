package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// countingFS counts file and directory fsyncs.
type countingFS struct {
	vfs.FS
	syncs *atomic.Int64
}

func (c countingFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	return countingFile{f, c.syncs}, err
}

func (c countingFS) OpenAppend(name string) (vfs.File, error) {
	f, err := c.FS.OpenAppend(name)
	return countingFile{f, c.syncs}, err
}

func (c countingFS) SyncDir(dir string) error {
	c.syncs.Add(1)
	return c.FS.SyncDir(dir)
}

type countingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (c countingFile) Sync() error {
	c.syncs.Add(1)
	return c.File.Sync()
}

// BenchmarkAppend measures Append on the real filesystem: one op is one
// Append of `batch` 16-byte entries, which should cost one fsync (plus a
// directory fsync on the rare segment rotation).
//
//	go test ./wal -run '^$' -bench BenchmarkAppend -benchtime 2s
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			syncs := &atomic.Int64{}
			l, err := Open(countingFS{vfs.OS{}, syncs}, b.TempDir(), DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			es := make([]raft.Entry, batch)
			data := make([]byte, 16)
			next := raft.Index(1)
			syncs.Store(0)
			b.SetBytes(int64(16 * batch))
			b.ResetTimer()
			for range b.N {
				for k := range es {
					es[k] = raft.Entry{Index: next, Term: 1, Type: raft.EntryNormal, Data: data}
					next++
				}
				if err := l.Append(raft.HardState{Term: 1, Commit: next - 1}, es); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(syncs.Load())/float64(b.N), "fsyncs/op")
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkFsync measures the raw cost the WAL pays per batch: append 16
// bytes to a file and fsync it (File.Sync), on the test's temp dir disk.
//
//	go test ./wal -run '^$' -bench 'Fsync|Fdatasync' -benchtime 2s
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewSegment measures what opening a segment costs with
// DefaultConfig: create, zero-fill 64 MiB, fdatasync, directory fsync
// (the stall of the one Append that rotates).
func BenchmarkNewSegment(b *testing.B) {
	dir := b.TempDir()
	cfg := DefaultConfig()
	n := 0
	for b.Loop() {
		n++
		sub := filepath.Join(dir, fmt.Sprint(n))
		l, err := Open(vfs.OS{}, sub, cfg)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
		b.StopTimer()
		os.RemoveAll(sub)
		b.StartTimer()
	}
}

// BenchmarkRotate appends 4 KiB batches across rotations of 16 MiB
// segments and reports the mean latency of the Appends that rotate, and
// the slowest other Append, with and without Config.PrepareSegments.
func BenchmarkRotate(b *testing.B) {
	for _, prep := range []bool{false, true} {
		b.Run(fmt.Sprintf("prepare=%v", prep), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.SegmentBytes = 16 << 20
			cfg.PrepareSegments = prep
			l, err := Open(vfs.OS{}, b.TempDir(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			data := make([]byte, 4000)
			var rotating, worstOther time.Duration
			rotations := 0
			next := raft.Index(1)
			for b.Loop() {
				segs := len(l.segs)
				t0 := time.Now()
				if err := l.Append(raft.HardState{}, []raft.Entry{{Index: next, Term: 1, Data: data}}); err != nil {
					b.Fatal(err)
				}
				d := time.Since(t0)
				if len(l.segs) != segs {
					rotating += d
					rotations++
				} else {
					worstOther = max(worstOther, d)
				}
				next++
			}
			if rotations > 0 {
				b.ReportMetric(float64(rotating)/float64(rotations)/1e6, "rotate-ms")
			}
			b.ReportMetric(float64(worstOther)/1e6, "worst-other-ms")
		})
	}
}
