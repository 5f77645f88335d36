package world

import (
	"errors"
	"math/rand/v2"
	"time"
)

// NetConfig is the network's fault profile. It may be changed at any time
// (Network.Config); messages already in flight keep their fate.
type NetConfig struct {
	// MinDelay and MaxDelay bound one datagram's one-way delay, drawn
	// uniformly; varying delay reorders datagrams.
	MinDelay, MaxDelay time.Duration
	// LossPPM is the chance, per million, that a datagram is dropped.
	LossPPM int
	// DupPPM is the chance, per million, that a datagram is delivered twice
	// (the copy with its own delay).
	DupPPM int
	// ReorderPPM is the chance, per million, that a datagram is held back
	// by an extra delay of up to ReorderDelay, overtaking being the point.
	ReorderPPM   int
	ReorderDelay time.Duration
	// StreamBytesPerMs is a stream's bandwidth; a chunk of n bytes takes
	// n/StreamBytesPerMs ms on top of MinDelay. 0 means unlimited.
	StreamBytesPerMs int
}

// NetStats counts what the network did.
type NetStats struct {
	Sent, Delivered, Lost, Duplicated, Reordered, Blocked uint64
	StreamsOpened, StreamsBroken                          uint64
}

// Network delivers datagrams and streams between hosts.
type Network struct {
	w       *World
	r       *rand.Rand
	cfg     NetConfig
	blocked map[link]bool // directed links currently cut; lookups only
	nBlock  int           // number of cut links
	// slow holds the extra delay of every datagram to or from a host
	// (SetSlow); empty almost always.
	slow    map[string]time.Duration
	stats   NetStats
	streams uint64 // stream ids issued

	free []*datagram // delivered or dropped datagrams, for reuse
}

type link struct{ from, to string }

// ErrUnreachable is returned when a stream cannot be opened or breaks.
var ErrUnreachable = errors.New("world: unreachable")

func newNetwork(w *World, r *rand.Rand) *Network {
	return &Network{w: w, r: r, blocked: map[link]bool{}, cfg: NetConfig{MinDelay: time.Millisecond, MaxDelay: time.Millisecond}}
}

// Config returns the current fault profile.
func (n *Network) Config() NetConfig { return n.cfg }

// SetConfig replaces the fault profile.
func (n *Network) SetConfig(c NetConfig) {
	if c.MaxDelay < c.MinDelay {
		c.MaxDelay = c.MinDelay
	}
	n.cfg = c
}

// Stats returns the counters so far.
func (n *Network) Stats() NetStats { return n.stats }

// Block cuts the directed link from → to (asymmetric partition).
func (n *Network) Block(from, to string) {
	if from == to || n.blocked[link{from, to}] {
		return
	}
	n.blocked[link{from, to}] = true
	n.nBlock++
}

// Unblock restores the directed link from → to.
func (n *Network) Unblock(from, to string) {
	if !n.blocked[link{from, to}] {
		return
	}
	delete(n.blocked, link{from, to})
	n.nBlock--
}

// BlockBoth cuts both directions between a and b.
func (n *Network) BlockBoth(a, b string) { n.Block(a, b); n.Block(b, a) }

// Heal restores every link.
func (n *Network) Heal() {
	clear(n.blocked)
	n.nBlock = 0
}

// Blocked reports whether from → to is cut.
func (n *Network) Blocked(from, to string) bool {
	return n.nBlock > 0 && n.blocked[link{from, to}]
}

// SetSlow holds every datagram sent to or from addr from now on for an
// extra d on top of its drawn delay (0 ends it); datagrams already in
// flight keep their delay. The extra delay is the same for every
// datagram, so a slow host's traffic keeps its order but arrives late: a
// stalled connection, not a lossy one. Heal leaves it alone.
func (n *Network) SetSlow(addr string, d time.Duration) {
	if d <= 0 {
		delete(n.slow, addr)
		return
	}
	if n.slow == nil {
		n.slow = map[string]time.Duration{}
	}
	n.slow[addr] = d
}

// slowDelay is the extra delay of a datagram from → to.
func (n *Network) slowDelay(from, to string) time.Duration {
	if len(n.slow) == 0 {
		return 0
	}
	return max(n.slow[from], n.slow[to])
}

// Partitioned reports whether any link is cut.
func (n *Network) Partitioned() bool { return n.nBlock > 0 }

// OnDatagram sets the host's datagram handler (cleared by Crash).
func (h *Host) OnDatagram(f func(from string, b []byte)) { h.onDatagram = f }

// Send sends a datagram from host to the address to. It may be lost,
// duplicated, delayed or reordered; it is dropped if the link is cut when
// sent or when due, or if the receiver is down or crashed meanwhile.
func (h *Host) Send(to string, b []byte) {
	n := h.w.Net
	n.stats.Sent++
	if !h.up {
		return
	}
	dst := h.w.hosts[to]
	if dst == nil || n.Blocked(h.addr, to) {
		n.stats.Blocked++
		return
	}
	if n.chance(n.cfg.LossPPM) {
		n.stats.Lost++
		return
	}
	copies := 1
	if n.chance(n.cfg.DupPPM) {
		n.stats.Duplicated++
		copies = 2
	}
	from := h.addr
	extra := n.slowDelay(from, to)
	for range copies {
		d := n.delay() + extra
		if n.chance(n.cfg.ReorderPPM) && n.cfg.ReorderDelay > 0 {
			n.stats.Reordered++
			d += time.Duration(n.r.Int64N(int64(n.cfg.ReorderDelay)))
		}
		dg := n.newDatagram()
		dg.from, dg.to, dg.b = from, to, b
		h.w.scheduleEvent(&dg.ev, h.w.now+d, dst)
	}
}

// datagram is one copy of a datagram in flight: its delivery event and
// what it carries, in one allocation that is reused once it is delivered
// or dropped (a datagram event is never handed out, so nothing else can
// hold it).
type datagram struct {
	ev       Event // ev.dg points back here; ev.host is the receiver
	from, to string
	b        []byte
}

func (n *Network) newDatagram() *datagram {
	var dg *datagram
	if k := len(n.free); k > 0 {
		dg = n.free[k-1]
		n.free[k-1] = nil
		n.free = n.free[:k-1]
	} else {
		dg = &datagram{}
	}
	dg.ev.dg = dg
	return dg
}

// recycle returns a delivered or dropped datagram to the free list.
func (n *Network) recycle(dg *datagram) {
	*dg = datagram{}
	n.free = append(n.free, dg)
}

// deliver hands a due datagram to its receiver, unless the link was cut
// meanwhile or the receiver has no handler.
func (n *Network) deliver(dg *datagram) {
	dst, from, to, b := dg.ev.host, dg.from, dg.to, dg.b
	n.recycle(dg) // before the handler, which may send and reuse it
	if n.Blocked(from, to) {
		n.stats.Blocked++
		return
	}
	if dst.onDatagram == nil {
		return
	}
	n.stats.Delivered++
	dst.onDatagram(from, b)
}

func (n *Network) chance(ppm int) bool { return ppm > 0 && n.r.IntN(1_000_000) < ppm }

func (n *Network) delay() time.Duration {
	c := n.cfg
	if c.MaxDelay <= c.MinDelay {
		return c.MinDelay
	}
	return c.MinDelay + time.Duration(n.r.Int64N(int64(c.MaxDelay-c.MinDelay)+1))
}
