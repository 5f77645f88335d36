package driver

import (
	"sync"
	"sync/atomic"

	"github.com/agentd/agentd/swim"
)

// eventQueue hands the core's events to OnEvent in order on one goroutine.
// It is unbounded on purpose: blocking the loop on a slow consumer would
// stop probes and acks, and the pool would declare this node failed.
// Instead its depth is reported (Stats.EventsQueued, EventsMaxQueued) so
// an operator sees a consumer falling behind.
type eventQueue struct {
	fn func(swim.Event)

	mu sync.Mutex // guards q, head, closed, maxDepth
	// q[head:] waits for delivery. Invariant: head <= len(q).
	q        []swim.Event
	head     int
	closed   bool
	maxDepth int

	kick      chan struct{} // capacity 1: "q or closed changed"
	done      chan struct{} // closed when run returns
	delivered atomic.Uint64
}

func newEventQueue(fn func(swim.Event)) *eventQueue {
	return &eventQueue{fn: fn, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

func (e *eventQueue) push(evs []swim.Event) {
	if len(evs) == 0 || e.fn == nil {
		return
	}
	e.mu.Lock()
	e.q = append(e.q, evs...)
	e.maxDepth = max(e.maxDepth, len(e.q)-e.head)
	e.mu.Unlock()
	e.signal()
}

func (e *eventQueue) signal() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// depth returns the events not yet delivered and the most ever waiting.
func (e *eventQueue) depth() (now, most int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.q) - e.head, e.maxDepth
}

// run delivers until closed and empty.
func (e *eventQueue) run() {
	defer close(e.done)
	for {
		e.mu.Lock()
		if e.head == len(e.q) {
			e.q, e.head = e.q[:0], 0
			closed := e.closed
			e.mu.Unlock()
			if closed {
				return
			}
			<-e.kick
			continue
		}
		ev := e.q[e.head]
		e.q[e.head] = swim.Event{} // release the member's tags
		e.head++
		e.mu.Unlock()
		if e.fn != nil {
			e.fn(ev)
		}
		e.delivered.Add(1)
	}
}

// close lets run finish after delivering what is queued, and waits.
func (e *eventQueue) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.signal()
	<-e.done
}
