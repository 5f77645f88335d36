package agent

import (
	"encoding/json"
	"regexp"
	"strconv"
	"sync"

	"github.com/agentd/agentd/swim"
)

// User events (Consul's /v1/event/fire and /v1/event/list). An event is
// fired into the LAN gossip pool as a swim user event: its name and
// payload as they are, and the rest (ID, filters, version) as a small JSON
// object in the event's opaque filter field. Every agent that receives it
// applies the filters to itself — the node filter as a regexp on its node
// name; a service filter matches only agents with a matching local
// service, and agentd registers none yet, so such events are delivered
// nowhere — and keeps the last eventBufferSize events it accepted, in
// arrival order, for /v1/event/list. A -dev agent, which has no gossip
// pool, delivers its own events to itself.

// eventBufferSize is how many events an agent keeps (Consul's 256).
const eventBufferSize = 256

// userEventVersion is the version of the event format we write (Consul's
// userEventMaxVersion).
const userEventVersion = 1

// userEvent is an event as /v1/event/fire answers it and /v1/event/list
// lists it (Consul's agent.UserEvent).
type userEvent struct {
	ID            string
	Name          string
	Payload       []byte
	NodeFilter    string
	ServiceFilter string
	TagFilter     string
	Version       int
	LTime         uint64
}

// eventEnvelope is what travels in the swim event's filter field.
type eventEnvelope struct {
	ID      string `json:"id"`
	Node    string `json:"nf,omitempty"`
	Service string `json:"sf,omitempty"`
	Tag     string `json:"tf,omitempty"`
	Version int    `json:"v"`
}

// validateEvent checks a fire request as Consul does.
func validateEvent(e *userEvent) error {
	if e.TagFilter != "" && e.ServiceFilter == "" {
		return errBadRequestf("Cannot provide tag filter without service filter")
	}
	for _, f := range []struct{ what, re string }{{"node", e.NodeFilter}, {"service", e.ServiceFilter}, {"tag", e.TagFilter}} {
		if f.re == "" {
			continue
		}
		if _, err := regexp.Compile(f.re); err != nil {
			return errBadRequestf("Invalid %s filter: %v", f.what, err)
		}
	}
	return nil
}

// eventBuffer holds the recent events and wakes /v1/event/list's waiters.
type eventBuffer struct {
	mu      sync.Mutex
	events  []*userEvent // oldest first, at most eventBufferSize
	changed chan struct{}
	// clock is -dev's Lamport time (no gossip pool to keep one) less one:
	// Serf starts its event clock at 1, so the first event is LTime 1.
	clock uint64
}

// add appends e, dropping the oldest beyond eventBufferSize, and wakes
// the waiters.
func (b *eventBuffer) add(e *userEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
	if len(b.events) > eventBufferSize {
		b.events = append(b.events[:0:0], b.events[len(b.events)-eventBufferSize:]...)
	}
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

// list returns the events named name ("" for all), oldest first, and a
// channel closed at the next add.
func (b *eventBuffer) list(name string) ([]*userEvent, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	out := []*userEvent{}
	for _, e := range b.events {
		if name == "" || e.Name == name {
			out = append(out, e)
		}
	}
	return out, b.changed
}

// nextDevTime returns -dev's next Lamport time.
func (b *eventBuffer) nextDevTime() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock++
	return b.clock
}

// fireEvent sends e to the pool (or, in -dev, to this agent alone).
func (a *Agent) fireEvent(e *userEvent) error {
	env, err := json.Marshal(eventEnvelope{ID: e.ID, Node: e.NodeFilter, Service: e.ServiceFilter, Tag: e.TagFilter, Version: e.Version})
	if err != nil {
		return err
	}
	if a.cluster == nil {
		got := *e
		got.LTime = a.events.nextDevTime()
		a.ingestEvent(&got)
		return nil
	}
	return a.cluster.gossip.UserEvent(e.Name, e.Payload, false, env)
}

// ingestSwimEvent decodes a user event from the pool and keeps it if its
// filters select this agent. Malformed envelopes are dropped and logged.
func (a *Agent) ingestSwimEvent(u *swim.UserEvent) {
	var env eventEnvelope
	if err := json.Unmarshal(u.Filter, &env); err != nil || env.ID == "" {
		a.log.Warn("event: dropping a user event that is not agentd's", "name", u.Name, "error", err)
		return
	}
	a.ingestEvent(&userEvent{ID: env.ID, Name: u.Name, Payload: u.Payload, NodeFilter: env.Node,
		ServiceFilter: env.Service, TagFilter: env.Tag, Version: env.Version, LTime: uint64(u.LTime)})
}

// ingestEvent keeps e if its filters select this agent.
func (a *Agent) ingestEvent(e *userEvent) {
	if e.Version > userEventVersion {
		a.log.Warn("event: version may have unsupported features", "version", e.Version, "name", e.Name)
	}
	if e.NodeFilter != "" {
		re, err := regexp.Compile(e.NodeFilter)
		if err != nil || !re.MatchString(a.cfg.NodeName) {
			return
		}
	}
	if e.ServiceFilter != "" {
		return // no local services yet (see the package comment above)
	}
	a.events.add(e)
}

// eventIndex is Consul's index for an event list: its last event's
// EventIDIndex, or 1 when empty. Not monotonic: a blocking list waits
// while the index equals ?index.
func eventIndex(events []*userEvent) uint64 {
	if len(events) == 0 {
		return 1
	}
	return max(EventIDIndex(events[len(events)-1].ID), 1)
}

// EventIDIndex folds an event's UUID to 64 bits, its two halves XORed, as
// Consul's event index does (0 for a malformed ID). Watchers of
// /v1/event/list use it to find the last event they saw.
func EventIDIndex(id string) uint64 {
	if len(id) != 36 {
		return 0
	}
	lo, err1 := strconv.ParseUint(id[0:8]+id[9:13]+id[14:18], 16, 64)
	hi, err2 := strconv.ParseUint(id[19:23]+id[24:36], 16, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return lo ^ hi
}
