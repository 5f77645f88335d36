package driver_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft/driver"
)

// TestDriverProposeAcrossStop runs proposers while the leader stops: every
// Propose returns (none hangs in the proposal queue), the ones the loop
// never took with ErrStopped, and a Propose after Stop fails at once.
func TestDriverProposeAcrossStop(t *testing.T) {
	c := newCluster(t, 3, memStorage(), nil)
	l := c.leader()
	c.propose([]byte("warm-up"))

	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := map[string]int{}
	for range 16 {
		wg.Go(func() {
			for {
				_, _, err := l.d.Propose(context.Background(), []byte("x"))
				mu.Lock()
				errs[errName(err)]++
				mu.Unlock()
				if errors.Is(err, driver.ErrStopped) {
					return
				}
			}
		})
	}
	poll(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return errs["nil"] >= 100
	}, func() string { return "proposals do not commit" })
	c.stop(l.id)
	wg.Wait() // every proposer saw ErrStopped: none is stuck
	_, _, err := l.d.Propose(context.Background(), []byte("late"))
	require.ErrorIs(t, err, driver.ErrStopped)
	t.Logf("outcomes: %v", errs)
}

// TestDriverProposeCanceled: a context that ended first returns its error
// and index 0.
func TestDriverProposeCanceled(t *testing.T) {
	c := newCluster(t, 1, memStorage(), nil)
	l := c.leader()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, idx, err := l.d.Propose(ctx, []byte("x"))
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, idx)
}

func errName(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
