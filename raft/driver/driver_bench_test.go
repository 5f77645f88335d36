package driver_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/wal"
)

// countingFS counts file and directory fsyncs.
type countingFS struct {
	vfs.FS
	syncs *atomic.Int64
}

type countingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f countingFS) wrap(file vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return countingFile{file, f.syncs}, nil
}
func (f countingFS) Create(name string) (vfs.File, error)     { return f.wrap(f.FS.Create(name)) }
func (f countingFS) OpenAppend(name string) (vfs.File, error) { return f.wrap(f.FS.OpenAppend(name)) }
func (f countingFS) SyncDir(dir string) error                 { f.syncs.Add(1); return f.FS.SyncDir(dir) }
func (f countingFile) Sync() error                            { f.syncs.Add(1); return f.File.Sync() }

// benchCluster runs 3 Drivers over transport.Mem with the real WAL on the
// real disk under b.TempDir() (ext4 on /dev/vda here, not tmpfs).
func benchCluster(b *testing.B) (*cluster, *atomic.Int64) {
	syncs := &atomic.Int64{}
	fsys := countingFS{vfs.OS{}, syncs}
	c := newCluster(b, 3, walStorage(fsys, b.TempDir(), wal.DefaultConfig()), func(cfg *driver.Config) {
		cfg.SnapshotThreshold = 1 << 30 // no snapshots inside the measurement
		cfg.Raft.TickInterval = 10 * time.Millisecond
	})
	c.leader()
	c.propose([]byte("warm-up"))
	return c, syncs
}

// BenchmarkProposeSerial: one closed-loop proposer; ns/op is the commit
// latency (leader fsync in parallel with followers' fsync + round trip).
func BenchmarkProposeSerial(b *testing.B) {
	c, syncs := benchCluster(b)
	l := c.leader()
	data := make([]byte, 128)
	ctx := context.Background()
	s0 := syncs.Load()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, err := l.d.Propose(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(syncs.Load()-s0)/float64(b.N), "fsyncs/op")
}

// BenchmarkPropose128: 128 concurrent closed-loop proposers.
func BenchmarkPropose128(b *testing.B) {
	c, syncs := benchCluster(b)
	l := c.leader()
	data := make([]byte, 128)
	ctx := context.Background()
	var next atomic.Int64
	s0 := syncs.Load()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, _, err := l.d.Propose(ctx, data); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "ops/s")
	// Counted on all three nodes: fsyncs per committed entry per node.
	b.ReportMetric(float64(syncs.Load()-s0)/float64(b.N)/3, "fsyncs/entry/node")
}

// BenchmarkFdatasync measures one 128-byte append + fsync on the same
// disk, the floor for BenchmarkProposeSerial.
func BenchmarkFdatasync(b *testing.B) {
	f, err := os.Create(b.TempDir() + "/f")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
