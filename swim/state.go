package swim

import (
	"maps"
	"slices"
	"time"
)

// This file holds the member table and the precedence rules for alive,
// suspect and dead claims (SWIM §4.2, memberlist state.go aliveNode,
// suspectNode, deadNode):
//
//   - a claim with a lower incarnation than the entry's is ignored;
//   - alive overrides suspect/dead/left only with a strictly higher
//     incarnation (so a stale alive cannot resurrect a newer death);
//   - suspect overrides alive at an equal or higher incarnation;
//   - dead/left override alive and suspect at an equal or higher one;
//   - a suspect or dead claim about ourselves is refuted by raising our
//     incarnation above the accusation.

func (n *Node) addMember(m *member) {
	if _, dup := n.members[m.name]; dup {
		panic("swim: addMember: duplicate " + m.name)
	}
	n.members[m.name] = m
	n.order = append(n.order, m)
	if m != n.self {
		n.addProbeTarget(m.name)
	}
}

func (n *Node) removeMember(m *member) {
	if m == n.self {
		panic("swim: removeMember: cannot remove the local node")
	}
	delete(n.members, m.name)
	n.order = slices.DeleteFunc(n.order, func(x *member) bool { return x == m })
}

// estNumNodes counts live (alive or suspect) members, ourselves included;
// it sizes timeouts and retransmit counts.
func (n *Node) estNumNodes() int {
	c := 0
	for _, m := range n.order {
		if !m.state.deadOrLeft() {
			c++
		}
	}
	return max(c, 1)
}

// broadcastMsg queues m for dissemination under key, and keeps the queue
// within max(MinBroadcastQueue, 2N).
func (n *Node) broadcastMsg(key string, m message, leave bool) {
	n.bq.queue(key, encode(m), leave)
	before := n.bq.dropped
	n.bq.prune(max(n.cfg.MinBroadcastQueue, 2*len(n.order)))
	n.stats.BroadcastsPruned += n.bq.dropped - before
}

func (n *Node) selfAlive() *alive {
	return &alive{Inc: n.self.inc, Node: n.self.name, Addr: n.self.addr, Tags: maps.Clone(n.self.tags)}
}

// refute answers an accusation about ourselves at incarnation accused
// with an alive message at a higher one. Having to refute hints that we
// are the slow party, so the awareness score rises (Lifeguard §4.1).
func (n *Node) refute(accused Incarnation) {
	inc := n.self.inc + 1
	if accused >= inc {
		inc = accused + 1
	}
	n.self.inc = inc
	n.awareness.apply(1)
	n.stats.Refutations++
	n.broadcastMsg(n.self.name, n.selfAlive(), false)
	n.log.Debug("refuted", "accused", accused, "incarnation", inc)
}

// maybeReannounce answers a stale accusation of ourselves (older than our
// incarnation) by queueing our current alive message again. The accuser
// evidently missed our refutation, which was sent only retransmitLimit
// times (two, in a small pool with LocalConfig) and may all have been
// lost; without this, its suspicion runs out and it declares us dead
// though we refuted in time (found by the swimsim simulator: 4 members,
// 10% loss, one starved accuser). memberlist ignores such messages. No
// incarnation is raised and no awareness is charged: the claim is the
// same one.
func (n *Node) maybeReannounce(m *member) {
	if m != n.self || n.leaving {
		return
	}
	n.broadcastMsg(n.self.name, n.selfAlive(), false)
}

func (n *Node) handleAlive(a *alive) {
	if a.Node == "" || a.Addr == "" || tagsSize(a.Tags) > n.cfg.MaxTagsBytes {
		n.stats.Dropped++
		return
	}
	m, ok := n.members[a.Node]
	if !ok {
		m = &member{name: a.Node, addr: a.Addr, tags: maps.Clone(a.Tags), inc: a.Inc, state: StateAlive, stateChange: n.now}
		n.addMember(m)
		n.broadcastMsg(a.Node, a, false)
		n.emit(EventJoin, m)
		return
	}
	// A name moving to a new address: accepted only once the old entry
	// has been gone for DeadNodeReclaimTime, else two processes are
	// fighting over one name.
	reclaim := false
	if m.addr != a.Addr {
		if m == n.self || !m.state.deadOrLeft() || n.now.Sub(m.stateChange) < n.cfg.DeadNodeReclaimTime {
			n.stats.Conflicts++
			n.log.Warn("name conflict", "node", a.Node, "addr", m.addr, "claimed_addr", a.Addr, "state", m.state)
			return
		}
		reclaim = true
	}
	if m == n.self {
		if a.Inc < m.inc || n.leaving {
			return
		}
		// An equal incarnation with other tags comes from our previous
		// life (restart with the same incarnation): refute it too.
		if a.Inc == m.inc && maps.Equal(a.Tags, m.tags) {
			return
		}
		n.refute(a.Inc)
		return
	}
	if a.Inc <= m.inc && !reclaim {
		return
	}
	old := m.state
	changed := !maps.Equal(m.tags, a.Tags) || m.addr != a.Addr
	m.susp = nil
	m.inc = a.Inc
	m.addr = a.Addr
	m.tags = maps.Clone(a.Tags)
	if old != StateAlive {
		m.state = StateAlive
		m.stateChange = n.now
	}
	n.broadcastMsg(a.Node, a, false)
	switch {
	case old.deadOrLeft():
		n.emit(EventJoin, m)
	case changed:
		n.emit(EventUpdate, m)
	}
}

func (n *Node) handleSuspect(s *suspect) {
	m, ok := n.members[s.Node]
	if !ok {
		return
	}
	if s.Inc < m.inc {
		n.maybeReannounce(m)
		return
	}
	switch {
	case m.susp != nil && s.Inc == m.susp.inc:
		// Lifeguard §4.2: an independent accusation shortens the timer.
		if m.susp.maybeConfirm(s.From) {
			n.broadcastMsg(s.Node, s, false)
		}
		return
	case m.susp != nil:
		// A higher incarnation: the member refuted the suspicion we hold
		// (its alive message missed us) and is accused anew. Start over
		// at the new incarnation rather than let the new accusers confirm
		// the refuted one, as memberlist does: that declared a member
		// dead at an incarnation it had refuted 11 s before, on the
		// strength of accusers cut off from it by a later partition
		// (found by the swimsim simulator, seeds 112 and 128 at N 3-200).
		m.susp = nil
	case m.state != StateAlive:
		return
	}
	if m == n.self {
		n.refute(s.Inc)
		return
	}
	n.broadcastMsg(s.Node, s, false)
	n.stats.Suspicions++
	m.inc = s.Inc
	m.state = StateSuspect
	m.stateChange = n.now
	m.accuser = s.From
	num := n.estNumNodes()
	k := suspicionConfirmations(n.cfg.SuspicionMult, num)
	lo := suspicionTimeout(n.cfg.SuspicionMult, num, n.cfg.ProbeInterval)
	hi := time.Duration(n.cfg.SuspicionMaxTimeoutMult) * lo
	if n.cfg.DisableLifeguard {
		k, hi = 0, lo // plain SWIM: a fixed timeout, confirmations ignored
	}
	m.susp = newSuspicion(s.From, s.Inc, k, lo, hi, n.now)
	if n.cfg.EmitSuspectEvents {
		n.emit(EventSuspect, m)
	}
}

func (n *Node) handleDead(d *dead) {
	m, ok := n.members[d.Node]
	if !ok {
		return
	}
	if d.Inc < m.inc {
		n.maybeReannounce(m)
		return
	}
	if m.state.deadOrLeft() {
		// Force-leave: a failed member is marked left.
		if m.state == StateDead && d.left() {
			m.inc = d.Inc
			m.accuser = d.From
			m.state = StateLeft
			m.stateChange = n.now
			n.broadcastMsg(d.Node, d, false)
			n.emit(EventLeave, m)
		}
		return
	}
	if m == n.self {
		// Not leaving (self would be StateLeft): we are alive, say so.
		n.refute(d.Inc)
		return
	}
	m.susp = nil
	m.inc = d.Inc
	m.accuser = d.From
	m.stateChange = n.now
	n.broadcastMsg(d.Node, d, false)
	if d.left() {
		m.state = StateLeft
		n.emit(EventLeave, m)
	} else {
		m.state = StateDead
		n.emit(EventFail, m)
	}
}

// expireSuspicions declares dead every suspect whose timer ran out, if
// our own probe of it failed during the suspicion or k independent
// members confirmed it (Lifeguard §4.2's full confirmation). One we only
// heard accused by fewer is verified first: it becomes our next probe
// target (with the buddy suspicion, so a live member answers with its
// refutation) and is declared dead only if that probe fails too
// (failProbe).
//
// The bare timer declared healthy members dead at every member their
// refutation missed: the alive message is retransmitted
// RetransmitMult·⌈log10(N+1)⌉ times by each member that takes it up, so
// a given member misses it with probability about e^-(that count) (e^-8
// at N = 100), and in a pool where starved members accuse often that
// happens; the push-pull that would repair it runs every 90 s at N = 100,
// beyond the longest suspicion (found by the swimsim simulator, seeds 231
// and 916: one healthy member of 98 received none of the 783 copies of
// a refutation of a lone starved accuser's suspicion, and declared the
// refuter dead 48 s later). A crashed member is confirmed by k first-hand
// accusers within the minimum timeout in all but the smallest pools, so
// detection does not wait for verification (verifying every hearsay
// suspicion instead cost 0.2 s at the median and 1 s at p99 of the dead
// message's spread at N = 100). Plain SWIM (DisableLifeguard) keeps the
// bare timer.
func (n *Node) expireSuspicions() {
	// Collect first, then act: handling changes the table. Most ticks
	// find nothing, so nothing is allocated (a copy of the table per tick
	// was a hot spot at 1000 members).
	var due []*member
	for _, m := range n.order {
		s := m.susp
		if s == nil || s.verifying || n.now.Before(s.deadline) {
			continue
		}
		if !s.firstHand && !s.confirmed() && !n.cfg.DisableLifeguard {
			s.verifying = true
			n.verify = append(n.verify, m.name)
			continue
		}
		due = append(due, m)
	}
	for _, m := range due {
		n.declareDead(m)
	}
}

// declareDead ends m's suspicion: it is dead at the suspected incarnation.
func (n *Node) declareDead(m *member) {
	n.log.Info("suspect declared dead", "node", m.name, "confirmations", m.susp.n, "first_hand", m.susp.firstHand)
	n.handleDead(&dead{Inc: m.susp.inc, Node: m.name, From: n.self.name})
}

// reapAt is when a failed or left member leaves the table.
func (n *Node) reapAt(m *member) (time.Time, bool) {
	switch {
	case m == n.self:
		return time.Time{}, false
	case m.state == StateDead:
		return m.stateChange.Add(n.cfg.ReapFailedTimeout), true
	case m.state == StateLeft:
		return m.stateChange.Add(n.cfg.ReapLeftTimeout), true
	}
	return time.Time{}, false
}

func (n *Node) reap() {
	var due []*member // as in expireSuspicions
	for _, m := range n.order {
		if !m.state.deadOrLeft() {
			continue
		}
		if t, ok := n.reapAt(m); ok && !n.now.Before(t) {
			due = append(due, m)
		}
	}
	for _, m := range due {
		n.removeMember(m)
		n.emit(EventReap, m)
	}
}

// kRandom picks up to k distinct members accepted by ok, uniformly, by a
// partial Fisher-Yates shuffle over the table order.
//
// The result lives in a buffer reused by the next call: callers use it at
// once (a fresh candidate list per gossip round was a hot spot at 1000
// members).
func (n *Node) kRandom(k int, ok func(*member) bool) []*member {
	c := n.pick[:0]
	defer func() { n.pick = c[:0] }()
	for _, m := range n.order {
		if m != n.self && ok(m) {
			c = append(c, m)
		}
	}
	k = min(k, len(c))
	for i := range k {
		j := i + n.cfg.Rand.IntN(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}
