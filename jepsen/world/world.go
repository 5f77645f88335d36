package world

import (
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

	// dg is set (and fn nil) for a datagram delivery: the network recycles
	// those events itself, since no caller ever holds them.
	dg *datagram
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
	w.queue.remove(e.index)
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
	e := &Event{fn: fn}
	w.scheduleEvent(e, t, h)
	return e
}

// scheduleEvent queues e, whose fn or dg is set, at t (clamped to now) on
// host h (nil: a world event).
func (w *World) scheduleEvent(e *Event, t time.Duration, h *Host) {
	if t < w.now {
		t = w.now
	}
	w.seq++
	e.at, e.seq, e.host = t, w.seq, h
	if h != nil {
		e.epoch = h.epoch
	}
	w.queue.push(e)
}

func pushEvent(w *World, e *Event) { w.queue.push(e) }

// Step runs the earliest event. It returns false when no event is left.
func (w *World) Step() bool {
	if len(w.queue) == 0 {
		return false
	}
	e := w.queue.pop()
	if e.at < w.now {
		panic(fmt.Sprintf("world: event at %v is before now %v", e.at, w.now))
	}
	w.now = e.at
	w.steps++
	if h := e.host; h != nil {
		if e.epoch != h.epoch { // the host crashed since: its work is lost
			if e.dg != nil {
				w.Net.recycle(e.dg)
			}
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
	if e.dg != nil {
		w.Net.deliver(e.dg)
		return true
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

// eventQueue is a min-heap on (at, seq). It is written out rather than
// driven through container/heap: the interface calls and the boxing of
// every push and pop were a visible share of a run's CPU. (at, seq) is a
// strict total order (seq is unique), so the pop order is the same as any
// other correct heap's.
type eventQueue []*Event

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q eventQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *eventQueue) push(e *Event) {
	e.index = len(*q)
	*q = append(*q, e)
	q.up(e.index)
}

// pop removes and returns the earliest event.
func (q *eventQueue) pop() *Event {
	old := *q
	n := len(old) - 1
	old.swap(0, n)
	old[:n].down(0)
	e := old[n]
	old[n] = nil
	e.index = -1
	*q = old[:n]
	return e
}

// remove removes the event at position i.
func (q *eventQueue) remove(i int) {
	old := *q
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
		if !old[:n].down(i) {
			old[:n].up(i)
		}
	}
	e := old[n]
	old[n] = nil
	e.index = -1
	*q = old[:n]
}

func (q eventQueue) up(j int) {
	for j > 0 {
		i := (j - 1) / 2 // parent
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		j = i
	}
}

// down sifts the element at i0 down; it reports whether it moved.
func (q eventQueue) down(i0 int) bool {
	n := len(q)
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1 // left child
		if j2 := j1 + 1; j2 < n && q.less(j2, j1) {
			j = j2
		}
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		i = j
	}
	return i > i0
}
