package agent

import (
	"context"
	"time"

	"github.com/agentd/agentd/raft"
)

// leaderDuties are started when this server becomes a ready leader and
// stopped (ctx cancelled) when it loses leadership. They run on their own
// goroutines and must return when ctx is done.
type leaderDuties func(ctx context.Context)

// runLeaderLoop follows the driver's leadership observations until stop is
// closed. On becoming leader it runs a barrier (every earlier entry applied,
// and one of its own term committed) before declaring itself ready and
// starting duties; on losing leadership it cancels them.
func (s *server) runLeaderLoop(stop <-chan struct{}, duties leaderDuties) {
	var cancel context.CancelFunc = func() {}
	defer func() { cancel() }()
	soft := s.drv.Leader()
	for {
		cancel()
		cancel = func() {}
		if soft.Role == raft.Leader {
			gen := s.observe(s.id)
			ctx, c := context.WithCancel(context.Background())
			cancel = c
			go s.establish(ctx, gen, duties)
		} else {
			s.observe(soft.Lead)
		}
		select {
		case soft = <-s.drv.LeaderCh():
		case <-stop:
			return
		}
	}
}

// establish runs the own-term barrier, retried until it succeeds or
// leadership is lost, then marks the server ready and runs the duties.
func (s *server) establish(ctx context.Context, gen uint64, duties leaderDuties) {
	start := time.Now()
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(ctx, rpcHoldTimeout)
		err := s.drv.Barrier(bctx)
		cancel()
		if err == nil {
			break
		}
		s.log.Debug("leader barrier failed; retrying", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	if ctx.Err() != nil || !s.markReady(gen) {
		return
	}
	s.log.Info("cluster leadership acquired", "barrier", time.Since(start))
	if duties != nil {
		duties(ctx)
	}
}
