package swim

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
)

// Stats counts what the core dropped, refused or decided. Counters only
// grow.
type Stats struct {
	DecodeErrors     uint64 // packets or parts that failed to decode
	Dropped          uint64 // well-formed messages refused (wrong target, bad fields, wrong channel)
	Conflicts        uint64 // a name claimed from a new address too early
	Refutations      uint64 // suspicions or deaths of ourselves refuted
	ProbesOK         uint64
	ProbesFailed     uint64
	Suspicions       uint64 // members this node started suspecting
	BroadcastsPruned uint64 // updates dropped from a full broadcast queue
	RelaysDropped    uint64 // indirect pings refused because too many were in flight
	UserEventsDup    uint64 // user events dropped as duplicates or too old
	JoinFailures     uint64 // Joins that gave up after JoinMaxAttempts
}

// maxRelays bounds the indirect pings this node relays at once.
const maxRelays = 1024

// Node is one member's SWIM+Lifeguard state machine. It is not safe for
// concurrent use: the driver serialises calls. See the package comment for
// the calling contract.
type Node struct {
	cfg Config
	log *slog.Logger

	// now is the latest input time. Invariant: never decreases (an older
	// now passed in is treated as now).
	now time.Time

	self    *member
	members map[string]*member
	// order lists the table in insertion order; every walk of the table
	// uses it so that output depends only on the inputs and the seed.
	// Invariant: the same set as members.
	order []*member

	seq       uint32 // last sequence number used by a ping
	awareness awareness
	bq        broadcastQueue

	probe      probeState
	probeOrder []string // this round's shuffled probe targets
	probeIdx   int      // next position in probeOrder
	relays     []*relay // indirect pings in flight
	// verify lists suspects whose timer ran out unconfirmed and on
	// hearsay alone, to be probed before any other target
	// (expireSuspicions). Entries whose suspicion has ended since are
	// skipped when taken.
	verify []string
	pick   []*member // kRandom's reused buffer

	nextProbe     time.Time
	nextGossip    time.Time
	nextPushPull  time.Time
	nextReconnect time.Time

	join    joinState
	leaving bool // Leave was called; self.state == StateLeft

	userEvents eventLog
	out        Ready
	stats      Stats
}

// New returns a Node that is alive, alone, and knows only itself. now is
// the current time; the first timers are staggered randomly after it so
// that nodes started together do not probe in lockstep.
func New(cfg Config, now time.Time) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{
		cfg:       cfg,
		log:       log.With("swim", cfg.Name),
		now:       now,
		members:   make(map[string]*member),
		awareness: awareness{max: cfg.AwarenessMaxMultiplier, off: cfg.DisableLifeguard},
	}
	n.bq.init()
	n.userEvents.init(cfg.UserEventBuffer)
	n.userEvents.clock = cfg.EventClock
	n.userEvents.min = cfg.EventClock
	n.self = &member{
		name:        cfg.Name,
		addr:        cfg.Addr,
		tags:        maps.Clone(cfg.Tags),
		inc:         cfg.Incarnation,
		state:       StateAlive,
		stateChange: now,
	}
	n.addMember(n.self)
	n.emit(EventJoin, n.self)
	n.broadcastMsg(n.self.name, n.selfAlive(), false)

	n.nextProbe = now.Add(n.stagger(cfg.ProbeInterval))
	n.nextGossip = now.Add(n.stagger(cfg.GossipInterval))
	n.nextPushPull = now.Add(n.stagger(cfg.PushPullInterval))
	n.nextReconnect = now.Add(n.stagger(cfg.ReconnectInterval))
	return n, nil
}

func (n *Node) stagger(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(n.cfg.Rand.Int64N(int64(d)))
}

// advance moves the node's clock forward to now.
func (n *Node) advance(now time.Time) {
	if now.After(n.now) {
		n.now = now
	}
}

// ---- outputs ----

// HasReady reports whether Ready has anything to drain.
func (n *Node) HasReady() bool { return len(n.out.Packets) > 0 || len(n.out.Events) > 0 }

// Ready drains the packets and events produced so far.
func (n *Node) Ready() Ready {
	r := n.out
	n.out = Ready{}
	return r
}

func (n *Node) emit(t EventType, m *member) {
	n.out.Events = append(n.out.Events, Event{Type: t, Member: m.snapshot(false)})
}

// send queues one encoded message; too large for a datagram, it goes over
// a stream.
func (n *Node) send(to string, payload []byte) {
	n.out.Packets = append(n.out.Packets, Packet{To: to, Payload: payload, Stream: len(payload) > n.cfg.PacketSize})
}

func (n *Node) sendStream(to string, payload []byte) {
	n.out.Packets = append(n.out.Packets, Packet{To: to, Payload: payload, Stream: true})
}

// ---- observers ----

// Members returns every member in the table, itself included, by name.
func (n *Node) Members() []Member {
	out := make([]Member, 0, len(n.order))
	for _, m := range n.order {
		out = append(out, n.snapshot(m))
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Member returns one member by name.
func (n *Node) Member(name string) (Member, bool) {
	m, ok := n.members[name]
	if !ok {
		return Member{}, false
	}
	return n.snapshot(m), true
}

// LocalMember returns this node's own entry.
func (n *Node) LocalMember() Member { return n.snapshot(n.self) }

func (n *Node) snapshot(m *member) Member {
	return m.snapshot(m == n.self && n.leaving && !n.LeaveDone())
}

// NumAlive counts alive and suspect members, itself included.
func (n *Node) NumAlive() int { return n.estNumNodes() }

// Health is the Lifeguard awareness score: 0 is healthy, up to
// AwarenessMaxMultiplier−1.
func (n *Node) Health() int { return n.awareness.score }

// Stats returns the counters.
func (n *Node) Stats() Stats { return n.stats }

// Joined reports whether a Join has received a push-pull reply.
func (n *Node) Joined() bool { return n.join.joined }

// ---- inputs ----

// Tick runs every timer due at or before now. The driver calls it at
// NextDeadline (calling it earlier or more often is harmless).
func (n *Node) Tick(now time.Time) {
	n.advance(now)
	n.expireRelays()
	n.tickProbe()
	n.expireSuspicions()
	n.reap()
	if !n.now.Before(n.nextProbe) {
		n.startProbe()
	}
	if n.cfg.GossipInterval > 0 && !n.now.Before(n.nextGossip) {
		n.nextGossip = n.now.Add(n.cfg.GossipInterval)
		n.gossip()
	}
	if n.cfg.PushPullInterval > 0 && !n.now.Before(n.nextPushPull) {
		n.nextPushPull = n.now.Add(pushPullScale(n.cfg.PushPullInterval, n.estNumNodes()))
		n.periodicPushPull()
	}
	if n.cfg.ReconnectInterval > 0 && !n.now.Before(n.nextReconnect) {
		n.nextReconnect = n.now.Add(n.cfg.ReconnectInterval)
		n.reconnect()
	}
	n.tickJoin()
}

// NextDeadline is the earliest time at which Tick has work to do. The
// simulator jumps straight to it; a driver arms one timer for it. It is
// valid until the next input.
func (n *Node) NextDeadline() time.Time {
	d := n.nextProbe
	earlier := func(t time.Time) {
		if t.Before(d) {
			d = t
		}
	}
	if n.probe.active {
		if !n.probe.indirect {
			earlier(n.probe.timeoutAt)
		}
		earlier(n.probe.endAt)
	}
	if n.cfg.GossipInterval > 0 {
		earlier(n.nextGossip)
	}
	if n.cfg.PushPullInterval > 0 {
		earlier(n.nextPushPull)
	}
	if n.cfg.ReconnectInterval > 0 {
		earlier(n.nextReconnect)
	}
	if n.join.pending {
		earlier(n.join.nextAt)
	}
	for _, r := range n.relays {
		earlier(r.deadline)
	}
	for _, m := range n.order {
		if m.susp != nil && !m.susp.verifying {
			earlier(m.susp.deadline)
		}
		if !m.state.deadOrLeft() {
			continue // the common case, kept cheap: this runs after every input
		}
		if t, ok := n.reapAt(m); ok {
			earlier(t)
		}
	}
	return d
}

// HandlePacket handles one datagram from addr. Malformed input is counted
// and dropped; it never panics.
func (n *Node) HandlePacket(now time.Time, from string, payload []byte) {
	n.advance(now)
	m, err := decode(payload)
	if err != nil {
		n.stats.DecodeErrors++
		n.log.Debug("drop packet", "from", from, "err", err)
		return
	}
	if c, ok := m.(*compound); ok {
		for _, p := range c.Parts {
			pm, err := decodePart(p)
			if err != nil {
				n.stats.DecodeErrors++
				n.log.Debug("drop compound part", "from", from, "err", err)
				continue
			}
			n.handleMessage(from, pm, false)
		}
		return
	}
	n.handleMessage(from, m, false)
}

// HandleStream handles one message read from a stream (TCP) from addr and
// returns the reply the driver must write back on the same stream, or nil.
// The dialing side's driver passes that reply to its own HandleStream.
func (n *Node) HandleStream(now time.Time, from string, payload []byte) []byte {
	n.advance(now)
	m, err := decode(payload)
	if err != nil {
		n.stats.DecodeErrors++
		n.log.Debug("drop stream", "from", from, "err", err)
		return nil
	}
	switch m := m.(type) {
	case *compound:
		n.stats.Dropped++
		return nil
	case *pushPull:
		return n.handlePushPull(m)
	case *ping:
		// The fallback probe: ack on the stream itself.
		if m.Target != "" && m.Target != n.self.name {
			n.stats.Dropped++
			return nil
		}
		return encode(&ack{Seq: m.Seq})
	}
	n.handleMessage(from, m, true)
	return nil
}

// handleMessage dispatches one decoded message (not a compound).
func (n *Node) handleMessage(from string, m message, stream bool) {
	switch m := m.(type) {
	case *ping:
		n.handlePing(from, m)
	case *indirectPing:
		n.handleIndirectPing(from, m)
	case *ack:
		n.handleAck(m)
	case *nack:
		n.handleNack(m)
	case *suspect:
		n.handleSuspect(m)
	case *alive:
		n.handleAlive(m)
	case *dead:
		n.handleDead(m)
	case *userEventMsg:
		n.handleUserEvent(m.UserEvent)
	default:
		// A push-pull in a datagram, or a compound inside one.
		n.stats.Dropped++
		n.log.Debug("drop message on wrong channel", "type", m.kind(), "stream", stream)
	}
}

// SetTags replaces this node's tags and announces them with a higher
// incarnation.
func (n *Node) SetTags(now time.Time, tags map[string]string) error {
	n.advance(now)
	if sz := tagsSize(tags); sz > n.cfg.MaxTagsBytes {
		return fmt.Errorf("swim: set tags: %d bytes encoded, limit %d", sz, n.cfg.MaxTagsBytes)
	}
	if n.leaving {
		return fmt.Errorf("swim: set tags: node has left")
	}
	n.self.tags = maps.Clone(tags)
	n.self.inc++
	n.broadcastMsg(n.self.name, n.selfAlive(), false)
	n.emit(EventUpdate, n.self)
	return nil
}
