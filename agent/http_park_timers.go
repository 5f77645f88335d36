package agent

import (
	"container/heap"
	"sync"
	"time"
)

// parkTimers is the one timer of all parked connections: a heap of their
// next deadlines (a parked query's wait plus jitter, or an answered
// connection's idle limit) and a single time.Timer set to the earliest.
// A connection changes its entry in O(log n) and no per-connection timer
// or read deadline is touched per wake.
//
// Lock order: parkedConn.mu before parkTimers.mu; expire runs with
// neither held.
type parkTimers struct {
	mu      sync.Mutex
	h       connHeap      // guarded by mu
	timer   *time.Timer   // fires run; nil until the first set
	timerAt time.Duration // when timer fires, since parkEpoch (-1: stopped)
}

func newParkTimers() *parkTimers { return &parkTimers{timerAt: -1} }

// set makes c's entry come due no later than at (adding it if absent);
// the caller holds c.mu. An entry already due earlier is left alone:
// expire finds the connection's real deadline then and sets it. So a
// watcher answered and parked again per wake costs no heap update: its
// entry, at an earlier answer's idle limit or wait, only comes due about
// once per idle limit.
func (t *parkTimers) set(c *parkedConn, at time.Time) {
	d := at.Sub(parkEpoch)
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.slot >= 0 && c.at <= d {
		return
	}
	c.at = d
	if c.slot < 0 {
		heap.Push(&t.h, c)
	} else {
		heap.Fix(&t.h, c.slot)
	}
	if t.timerAt < 0 || d < t.timerAt {
		t.resetLocked(d)
	}
}

// parkEpoch is the origin of parkTimers' times: durations since it
// compare cheaply and follow the monotonic clock.
var parkEpoch = time.Now()

// remove drops c's entry, if any; the caller holds c.mu.
func (t *parkTimers) remove(c *parkedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.slot >= 0 {
		heap.Remove(&t.h, c.slot)
	}
}

func (t *parkTimers) resetLocked(at time.Duration) {
	t.timerAt = at
	d := at - time.Since(parkEpoch)
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.run)
		return
	}
	t.timer.Reset(d)
}

// run takes every entry due and calls its connection's expire.
func (t *parkTimers) run() {
	now := time.Now()
	nowD := now.Sub(parkEpoch)
	var due []*parkedConn
	t.mu.Lock()
	for len(t.h) > 0 && t.h[0].at <= nowD {
		due = append(due, heap.Pop(&t.h).(*parkedConn))
	}
	t.timerAt = -1
	if len(t.h) > 0 {
		t.resetLocked(t.h[0].at)
	}
	t.mu.Unlock()
	for _, c := range due {
		c.expire(now)
	}
}

// connHeap orders connections by their entry's time (container/heap).
type connHeap []*parkedConn

func (h connHeap) Len() int           { return len(h) }
func (h connHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h connHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}
func (h *connHeap) Push(x any) {
	c := x.(*parkedConn)
	c.slot = len(*h)
	*h = append(*h, c)
}
func (h *connHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.slot = -1
	return c
}
