package world

import (
	"container/heap"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// Epoch is the fixed wall-clock origin of virtual time, so that virtual
// clocks print recognisable, reproducible dates.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// World is the scheduler plus everything hung off it. Use New.
type World struct {
	now   time.Duration // virtual time since Epoch; only grows
	seq   uint64        // tie-breaker: events at equal times run in scheduling order
	queue eventQueue
	steps uint64 // events run so far

	hosts map[string]*Host // by address; never iterated (see hostOrder)
	order []*Host          // hosts in creation order, for deterministic iteration

	// Net is the simulated network between hosts.
	Net *Network

	trace io.Writer // nil: no trace
}

// New returns an empty world at virtual time 0 whose network draws from r.
func New(r *rand.Rand) *World {
	w := &World{hosts: map[string]*Host{}}
	w.Net = newNetwork(w, r)
	return w
}

// Now is the global virtual time since Epoch (hosts see skewed clocks).
func (w *World) Now() time.Duration { return w.now }

// Steps is the number of events run so far.
func (w *World) Steps() uint64 { return w.steps }

// SetTrace makes the world (and its users via Tracef) write one line per
// traced happening to out. nil turns tracing off.
func (w *World) SetTrace(out io.Writer) { w.trace = out }

// Tracing reports whether a trace is being written, so callers can skip
// formatting costs.
func (w *World) Tracing() bool { return w.trace != nil }

// Tracef writes one trace line prefixed by the virtual time.
func (w *World) Tracef(format string, args ...any) {
	if w.trace == nil {
		return
	}
	fmt.Fprintf(w.trace, "%012d ", int64(w.now/time.Microsecond))
	fmt.Fprintf(w.trace, format, args...)
	io.WriteString(w.trace, "\n")
}

// Event is a scheduled callback. Cancel prevents it from running.
type Event struct {
	at    time.Duration
	seq   uint64
	index int // position in the heap, -1 once popped or cancelled
	fn    func()
	host  *Host  // owner, nil for world events (never deferred or dropped)
	epoch uint64 // owner's epoch when scheduled

	cancelled bool // set by Cancel while the event sits in a paused host's deferred list
}

// Cancel removes the event if it has not run; it reports whether it did.
func (e *Event) Cancel(w *World) bool {
	if e == nil || e.cancelled {
		return false
	}
	if e.index < 0 { // run already, or deferred by a pause
		if !e.deferred() {
			return false
		}
		e.cancelled = true
		return true
	}
	heap.Remove(&w.queue, e.index)
	e.index = -1
	e.cancelled = true
	return true
}

// Pending reports whether the event is still due to run.
func (e *Event) Pending() bool { return e != nil && !e.cancelled && (e.index >= 0 || e.deferred()) }

func (e *Event) deferred() bool {
	h := e.host
	if h == nil || !h.paused || h.epoch != e.epoch {
		return false
	}
	for _, d := range h.deferred {
		if d == e {
			return true
		}
	}
	return false
}

// At schedules a world event (not owned by any host) at absolute virtual
// time t (clamped to now).
func (w *World) At(t time.Duration, fn func()) *Event { return w.schedule(t, nil, fn) }

// After schedules a world event d after now.
func (w *World) After(d time.Duration, fn func()) *Event { return w.schedule(w.now+d, nil, fn) }

func (w *World) schedule(t time.Duration, h *Host, fn func()) *Event {
	if t < w.now {
		t = w.now
	}
	w.seq++
	e := &Event{at: t, seq: w.seq, fn: fn, host: h}
	if h != nil {
		e.epoch = h.epoch
	}
	heap.Push(&w.queue, e)
	return e
}

func pushEvent(w *World, e *Event) { heap.Push(&w.queue, e) }

// Step runs the earliest event. It returns false when no event is left.
func (w *World) Step() bool {
	if len(w.queue) == 0 {
		return false
	}
	e := heap.Pop(&w.queue).(*Event)
	if e.at < w.now {
		panic(fmt.Sprintf("world: event at %v is before now %v", e.at, w.now))
	}
	w.now = e.at
	w.steps++
	if h := e.host; h != nil {
		if e.epoch != h.epoch { // the host crashed since: its work is lost
			return true
		}
		if h.paused {
			h.deferred = append(h.deferred, e)
			return true
		}
		if e.cancelled {
			return true
		}
	}
	e.fn()
	return true
}

// NextAt returns the time of the earliest event, and false if there is none.
func (w *World) NextAt() (time.Duration, bool) {
	if len(w.queue) == 0 {
		return 0, false
	}
	return w.queue[0].at, true
}

// RunUntil runs events due at or before t, then sets the clock to t. stop,
// if not nil, is checked after every event; RunUntil returns early (false)
// once it reports true.
func (w *World) RunUntil(t time.Duration, stop func() bool) bool {
	for {
		at, ok := w.NextAt()
		if !ok || at > t {
			break
		}
		w.Step()
		if stop != nil && stop() {
			return false
		}
	}
	if w.now < t {
		w.now = t
	}
	return true
}

// eventQueue is a min-heap on (at, seq).
type eventQueue []*Event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *eventQueue) Push(x any) {
	e := x.(*Event)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*q = old[:n-1]
	return e
}
