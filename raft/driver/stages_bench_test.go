package driver_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// stageTracer timestamps, per index, each node's persist and the
// leader's apply.
type stageTracer struct {
	mu      sync.Mutex
	leader  raft.NodeID // set once elected; nothing is recorded before
	durable map[raft.NodeID]map[raft.Index]time.Time
	applied map[raft.Index]time.Time
}

func (s *stageTracer) TracePersist(id raft.NodeID, _ raft.HardState, first, last raft.Index, _ raft.Index) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leader == "" {
		return
	}
	m := s.durable[id]
	if m == nil {
		m = map[raft.Index]time.Time{}
		s.durable[id] = m
	}
	for i := first; i <= last; i++ {
		m[i] = now
	}
}

func (s *stageTracer) TraceApply(id raft.NodeID, e *raft.Entry) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leader != "" && id == s.leader {
		s.applied[e.Index] = now
	}
}

func (s *stageTracer) TraceSend(*raft.Message) {}

// BenchmarkPropose128Stages splits the time of a proposal at 128
// closed-loop proposers (real WAL) into stages, medians in µs: until the
// leader's write is durable, until the first follower's is, until both
// (the entry is committable), from there until the leader applied it,
// and from the apply until the proposer's Propose returned. The first
// quarter of the proposals (warm-up) is not counted. The tracer's
// bookkeeping (a mutex and map inserts per entry and node) slows the run:
// read the stages, not ns/op. See BENCHMARKS.md.
func BenchmarkPropose128Stages(b *testing.B) {
	tr := &stageTracer{durable: map[raft.NodeID]map[raft.Index]time.Time{}, applied: map[raft.Index]time.Time{}}
	syncs := &atomic.Int64{}
	c := newCluster(b, 3, walOnDirs(countingFS{vfs.OS{}, syncs}, benchDirs(b)), func(cfg *driver.Config) {
		cfg.SnapshotThreshold = 1 << 30
		cfg.Raft.TickInterval = 50 * time.Millisecond
		cfg.Tracer = tr
	})
	l := c.leader()
	c.propose([]byte("warm-up"))
	tr.mu.Lock()
	tr.leader = l.id
	tr.mu.Unlock()

	type sample struct {
		start, end time.Time
		idx        raft.Index
	}
	n := b.N
	samples := make([]sample, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	data := make([]byte, 128)
	b.ResetTimer()
	for range 128 {
		wg.Go(func() {
			for k := next.Add(1) - 1; k < int64(n); k = next.Add(1) - 1 {
				t0 := time.Now()
				_, idx, err := l.d.Propose(context.Background(), data)
				if err != nil {
					b.Error(err)
					return
				}
				samples[k] = sample{t0, time.Now(), idx}
			}
		})
	}
	wg.Wait()
	b.StopTimer()

	tr.mu.Lock()
	defer tr.mu.Unlock()
	var leaderDur, followerDur, committable, toApply, toReturn []time.Duration
	for _, s := range samples[n/4:] {
		ld, ap := tr.durable[l.id][s.idx], tr.applied[s.idx]
		var fd time.Time // the first follower to persist s.idx
		for id, m := range tr.durable {
			if t, ok := m[s.idx]; ok && id != l.id && (fd.IsZero() || t.Before(fd)) {
				fd = t
			}
		}
		if ld.IsZero() || fd.IsZero() || ap.IsZero() {
			continue // e.g. made durable by a later merged batch's trace only
		}
		both := ld
		if fd.After(both) {
			both = fd
		}
		leaderDur = append(leaderDur, ld.Sub(s.start))
		followerDur = append(followerDur, fd.Sub(s.start))
		committable = append(committable, both.Sub(s.start))
		toApply = append(toApply, ap.Sub(both))
		toReturn = append(toReturn, s.end.Sub(ap))
	}
	if len(leaderDur) == 0 {
		b.Skip("no complete samples (b.N too small)")
	}
	report := func(ds []time.Duration, unit string) {
		b.ReportMetric(float64(median(ds))/1e3, unit)
	}
	report(leaderDur, "leader-durable-µs")
	report(followerDur, "follower-durable-µs")
	report(committable, "committable-µs")
	report(toApply, "commit-to-apply-µs")
	report(toReturn, "apply-to-return-µs")
}
