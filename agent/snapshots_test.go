package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/internal/clock"
)

func TestSnapshotCheckDelay(t *testing.T) {
	r := clock.NewRand(1)
	for _, interval := range []time.Duration{time.Millisecond, 30 * time.Second, time.Hour} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := snapshotCheckDelay(interval, r)
			require.GreaterOrEqual(t, d, interval)
			require.Less(t, d, 2*interval)
			seen[d] = true
		}
		require.Greater(t, len(seen), 1, "jittered")
	}
}

// manualClock fires timers only when told.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c       *manualClock
	at      time.Time
	f       func()
	stopped bool
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// pending returns the armed timers' delays from now.
func (c *manualClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if !t.stopped {
			out = append(out, t.at.Sub(c.now))
		}
	}
	return out
}

// fireNext advances to the earliest armed timer and runs it.
func (c *manualClock) fireNext() {
	c.mu.Lock()
	var next *manualTimer
	for _, t := range c.timers {
		if !t.stopped && (next == nil || t.at.Before(next.at)) {
			next = t
		}
	}
	next.stopped = true
	c.now = next.at
	c.mu.Unlock()
	next.f()
}

func TestRunSnapshotChecks(t *testing.T) {
	clk := &manualClock{now: time.Unix(0, 0)}
	checks := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runSnapshotChecks(stop, clk, clock.NewRand(3), 30*time.Second, func() { checks <- struct{}{} })
	}()
	for range 3 {
		waitFor(t, 5*time.Second, func() bool { return len(clk.pending()) == 1 }, "an armed timer")
		d := clk.pending()[0]
		require.GreaterOrEqual(t, d, 30*time.Second)
		require.Less(t, d, 60*time.Second)
		clk.fireNext()
		<-checks // exactly one check per timer
	}
	waitFor(t, 5*time.Second, func() bool { return len(clk.pending()) == 1 }, "an armed timer")
	close(stop)
	<-done
	require.Empty(t, clk.pending(), "the timer is stopped")
}

// On a real agent: with raft_snapshot_interval far away nothing is taken
// however far past the threshold the log grows; with a short one, a
// snapshot follows once the threshold is passed.
func TestSnapshotIntervalGatesSnapshots(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		want     bool
	}{
		{time.Hour, false},
		{20 * time.Millisecond, true},
	} {
		t.Run(tc.interval.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.RaftSnapshotThreshold = 8
			cfg.RaftSnapshotInterval = tc.interval
			a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.NoError(t, err)
			t.Cleanup(func() { a.Shutdown(context.Background()) })
			for i := range 40 {
				code, _, body := do(t, http.MethodPut, a.url(fmt.Sprintf("/v1/kv/k%d", i)), strings.NewReader("v"))
				require.Equal(t, 200, code, body)
			}
			taken := func() uint64 {
				st, err := a.srv.drv.Stats(context.Background())
				require.NoError(t, err)
				return st.Snapshots
			}
			if tc.want {
				waitFor(t, 5*time.Second, func() bool { return taken() >= 1 }, "a snapshot")
			} else {
				require.Zero(t, taken())
			}
		})
	}
}
