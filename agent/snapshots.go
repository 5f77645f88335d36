package agent

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
)

// Local Raft snapshots on Consul's schedule: every raft_snapshot_interval
// plus a random part of it (hashicorp/raft's randomTimeout: so servers do
// not all snapshot at once), a server checks whether raft_snapshot_threshold
// entries were applied since its last snapshot, and only then takes one.
// Every server runs its own timer, leader or not.

// snapshotCheckDelay is the wait before the next check: in [interval,
// 2*interval).
func snapshotCheckDelay(interval time.Duration, r *rand.Rand) time.Duration {
	return interval + time.Duration(r.Int64N(int64(interval)))
}

// startSnapshotTimer runs the checks until s.snapStop is closed.
func (s *server) startSnapshotTimer(interval time.Duration, threshold raft.Index, r *rand.Rand) {
	s.snapStop, s.snapDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.snapDone)
		runSnapshotChecks(s.snapStop, s.clk, r, interval, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if started, err := s.drv.RequestSnapshot(ctx, threshold); err != nil {
				s.log.Debug("snapshot check failed", "error", err)
			} else if started {
				s.log.Debug("taking a snapshot", "threshold", threshold)
			}
		})
	}()
}

// runSnapshotChecks calls check after each snapshotCheckDelay until stop
// is closed.
func runSnapshotChecks(stop <-chan struct{}, clk clock.Clock, r *rand.Rand, interval time.Duration, check func()) {
	for {
		fired := make(chan struct{})
		t := clk.AfterFunc(snapshotCheckDelay(interval, r), func() { close(fired) })
		select {
		case <-stop:
			t.Stop()
			return
		case <-fired:
			check()
		}
	}
}
