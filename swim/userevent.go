package swim

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"time"
)

// maxEventsPerLTime bounds the distinct events remembered for one Lamport
// time (concurrent fires from different nodes may share one).
const maxEventsPerLTime = 64

// eventLog is Serf's user-event clock and dedup buffer: events are
// remembered by (ltime, name, payload hash) for the last len(buf) Lamport
// times; anything older is dropped as possibly already seen.
type eventLog struct {
	clock LamportTime // next time to use; Invariant: > every time witnessed
	// min: events before it were delivered in a previous life (restart
	// with Config.EventClock) and are dropped. Invariant: min <= clock.
	min LamportTime
	buf []eventBucket
}

type eventBucket struct {
	ltime LamportTime
	used  bool
	seen  []eventKey
}

type eventKey struct {
	name string
	hash uint64
}

func (l *eventLog) init(size int) { l.buf = make([]eventBucket, size) }

// witness moves the clock past t (Lamport's receive rule).
func (l *eventLog) witness(t LamportTime) {
	if t >= l.clock {
		l.clock = t + 1
	}
}

// maybeRecord reports whether the event is new, and remembers it.
func (l *eventLog) maybeRecord(e *UserEvent) bool {
	size := LamportTime(len(l.buf))
	if e.LTime < l.min {
		return false // delivered before a restart
	}
	if l.clock > size && e.LTime < l.clock-size {
		return false // too old to tell
	}
	h := fnv.New64a()
	h.Write(e.Payload)
	key := eventKey{name: e.Name, hash: h.Sum64()}
	b := &l.buf[e.LTime%size]
	if !b.used || b.ltime != e.LTime {
		*b = eventBucket{ltime: e.LTime, used: true}
	}
	for _, k := range b.seen {
		if k == key {
			return false
		}
	}
	if len(b.seen) >= maxEventsPerLTime {
		return false
	}
	b.seen = append(b.seen, key)
	return true
}

// UserEvent fires a custom event to the whole cluster, this node included
// (it appears in Ready().Events). filter is carried opaque.
func (n *Node) UserEvent(now time.Time, name string, payload []byte, coalesce bool, filter []byte) error {
	n.advance(now)
	if name == "" {
		return fmt.Errorf("swim: user event: empty name")
	}
	if sz := len(name) + len(payload) + len(filter); sz > n.cfg.MaxUserEventBytes {
		return fmt.Errorf("swim: user event %q: %d bytes, limit %d", name, sz, n.cfg.MaxUserEventBytes)
	}
	if n.leaving {
		return errLeft("user event")
	}
	e := UserEvent{
		LTime:    n.userEvents.clock,
		Name:     name,
		Payload:  bytes.Clone(payload),
		Coalesce: coalesce,
		Filter:   bytes.Clone(filter),
	}
	n.userEvents.clock++
	n.handleUserEvent(e)
	return nil
}

// EventClock is the user-event Lamport clock: the next time this node
// would use. The driver persists it and passes it back as
// Config.EventClock on restart.
func (n *Node) EventClock() LamportTime { return n.userEvents.clock }

func (n *Node) handleUserEvent(e UserEvent) {
	n.userEvents.witness(e.LTime)
	if e.Name == "" || !n.userEvents.maybeRecord(&e) {
		n.stats.UserEventsDup++
		return
	}
	ev := e
	n.out.Events = append(n.out.Events, Event{Type: EventUser, User: &ev})
	n.broadcastMsg("", &userEventMsg{e}, false)
}
