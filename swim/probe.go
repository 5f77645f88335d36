package swim

import (
	"math"
	"slices"
	"time"
)

// probeState is the one probe in flight (SWIM §3.1 with Lifeguard §4.1).
//
// Timeline: ping at start; no ack by timeoutAt → ping-req through
// IndirectChecks members (asking for nacks) plus a fallback ping over a
// stream; still no ack by endAt → the target is suspected and the
// awareness score rises by the nacks that did not come back.
type probeState struct {
	active    bool
	target    string
	seq       uint32
	indirect  bool      // the indirect phase has started
	timeoutAt time.Time // direct ack deadline
	endAt     time.Time // whole-probe deadline; the next probe starts then
	// expectedNacks counts ping-reqs sent; nacks counts nacks received.
	expectedNacks, nacks int
}

// relay is an indirect ping this node performs for another member.
type relay struct {
	seq       uint32 // our ping's sequence number
	origin    string // where to send the ack or nack
	originSeq uint32
	wantNack  bool
	deadline  time.Time
}

func (n *Node) nextSeq() uint32 {
	n.seq++
	return n.seq
}

// tickProbe advances the probe in flight.
func (n *Node) tickProbe() {
	p := &n.probe
	if !p.active {
		return
	}
	if !p.indirect && !n.now.Before(p.timeoutAt) {
		n.startIndirect()
	}
	if !n.now.Before(p.endAt) {
		n.failProbe()
	}
}

// startProbe begins the next probe period: it pings the next member of
// the round-robin order. The order is a fresh shuffle each round, which
// bounds the time until a failed member is probed (SWIM §4.3).
func (n *Node) startProbe() {
	if n.probe.active {
		n.failProbe()
	}
	interval := n.awareness.scale(n.cfg.ProbeInterval)
	n.nextProbe = n.now.Add(interval)
	if n.leaving {
		return
	}
	m := n.nextVerifyTarget()
	if m == nil {
		m = n.nextProbeTarget()
	}
	if m == nil {
		return
	}
	seq := n.nextSeq()
	ping := &ping{Seq: seq, Target: m.name, SourceName: n.self.name, SourceAddr: n.self.addr}
	if m.state == StateSuspect && !n.cfg.DisableLifeguard {
		// Buddy system (Lifeguard §4.3): tell the suspect directly so it
		// can refute at once. The suspicion goes before the ping (the
		// receiver handles parts in order), so the refutation is queued
		// when the ack is sent and rides back on it to the prober, which
		// then stops suspecting. memberlist puts it after the ping, so its
		// refutation waits for gossip, which can miss the prober (found by
		// the swimsim simulator with RetransmitMult 2).
		n.sendPiggybacked(m.addr, &suspect{Inc: m.inc, Node: m.name, From: n.self.name}, ping)
	} else {
		n.sendPiggybacked(m.addr, ping)
	}
	n.probe = probeState{
		active:    true,
		target:    m.name,
		seq:       seq,
		timeoutAt: n.now.Add(n.awareness.scale(n.cfg.ProbeTimeout)),
		endAt:     n.nextProbe,
	}
}

// nextProbeTarget walks the shuffled order, reshuffling at the end of a
// round; it skips, without spending a probe period, members gone, dead
// or left. Dead members stay in the order, as in memberlist, so that one
// that comes back is probed at its turn rather than a round later.
func (n *Node) nextProbeTarget() *member {
	for reshuffled := false; ; {
		for n.probeIdx < len(n.probeOrder) {
			m := n.members[n.probeOrder[n.probeIdx]]
			n.probeIdx++
			if m != nil && m != n.self && !m.state.deadOrLeft() {
				return m
			}
		}
		if reshuffled {
			return nil
		}
		reshuffled = true
		n.probeOrder = n.probeOrder[:0]
		for _, m := range n.order {
			if m != n.self {
				n.probeOrder = append(n.probeOrder, m.name)
			}
		}
		n.cfg.Rand.Shuffle(len(n.probeOrder), func(i, j int) {
			n.probeOrder[i], n.probeOrder[j] = n.probeOrder[j], n.probeOrder[i]
		})
		n.probeIdx = 0
	}
}

// nextVerifyTarget takes the first suspect waiting for its verification
// probe (expireSuspicions), or nil. It is probed out of turn; the
// round-robin position is kept.
func (n *Node) nextVerifyTarget() *member {
	for len(n.verify) > 0 {
		m := n.members[n.verify[0]]
		n.verify = n.verify[1:]
		if m != nil && m.susp != nil && m.susp.verifying {
			return m
		}
	}
	return nil
}

// addProbeTarget puts a member new to the table at a random place in
// the rest of this round, so that it is probed within the round. Left for
// the next shuffle, it would go unprobed by us for up to a whole round of
// N probe periods (memberlist inserts new members at a random position
// too): in a pool of 100 that bootstrapped together, most members' first
// round held only the few members known at its start, and a crash was
// detected by fewer probers than the pool had.
func (n *Node) addProbeTarget(name string) {
	i := n.probeIdx + n.cfg.Rand.IntN(len(n.probeOrder)-n.probeIdx+1)
	n.probeOrder = slices.Insert(n.probeOrder, i, name)
}

func (n *Node) startIndirect() {
	p := &n.probe
	p.indirect = true
	target, ok := n.members[p.target]
	if !ok {
		return
	}
	peers := n.kRandom(n.cfg.IndirectChecks, func(m *member) bool {
		return m.state == StateAlive && m != target
	})
	// Relays nack after 80% of the time left, so that their nacks are
	// back before the probe ends and counted (Lifeguard §4.1).
	nackAfter := p.endAt.Sub(n.now) * 4 / 5
	for _, peer := range peers {
		n.sendPiggybacked(peer.addr, &indirectPing{
			Seq: p.seq, Target: target.name, TargetAddr: target.addr, Nack: !n.cfg.DisableLifeguard,
			NackAfterMs: uint32(min(nackAfter.Milliseconds(), math.MaxUint32)),
			SourceName:  n.self.name, SourceAddr: n.self.addr,
		})
	}
	if !n.cfg.DisableLifeguard {
		p.expectedNacks = len(peers)
	}
	if !n.cfg.DisableStreamProbe {
		// The fallback ping over a stream catches a member whose datagrams
		// are dropped but whose streams get through.
		n.sendStream(target.addr, encode(&ping{Seq: p.seq, Target: target.name, SourceName: n.self.name, SourceAddr: n.self.addr}))
	}
}

// failProbe ends a probe that got no ack: Lifeguard scores our own health
// by the nacks missing from members we assume healthy (or by the failure
// itself when no one was asked), then the target is suspected.
func (n *Node) failProbe() {
	p := n.probe
	n.probe = probeState{}
	n.stats.ProbesFailed++
	delta := 1
	if p.expectedNacks > 0 {
		delta = max(p.expectedNacks-p.nacks, 0)
	}
	n.awareness.apply(delta)
	m, ok := n.members[p.target]
	if !ok || m.state.deadOrLeft() {
		return
	}
	n.log.Debug("probe failed", "node", m.name, "nacks", p.nacks, "expected", p.expectedNacks)
	n.handleSuspect(&suspect{Inc: m.inc, Node: m.name, From: n.self.name})
	if s := m.susp; s != nil {
		s.firstHand = true
		if s.verifying {
			n.declareDead(m) // its timer ran out before this probe
		}
	}
}

func (n *Node) handlePing(from string, p *ping) {
	// A ping for another name reached a reused address: not ours to ack.
	if p.Target != "" && p.Target != n.self.name {
		n.stats.Dropped++
		return
	}
	to := p.SourceAddr
	if to == "" {
		to = from
	}
	if to == "" {
		n.stats.Dropped++
		return
	}
	n.sendPiggybacked(to, &ack{Seq: p.Seq})
}

func (n *Node) handleIndirectPing(from string, ip *indirectPing) {
	origin := ip.SourceAddr
	if origin == "" {
		origin = from
	}
	if origin == "" || ip.TargetAddr == "" {
		n.stats.Dropped++
		return
	}
	if len(n.relays) >= maxRelays {
		n.stats.RelaysDropped++
		return
	}
	wait := n.cfg.ProbeTimeout
	if ip.NackAfterMs > 0 {
		wait = min(wait, time.Duration(ip.NackAfterMs)*time.Millisecond)
	}
	seq := n.nextSeq()
	n.relays = append(n.relays, &relay{
		seq: seq, origin: origin, originSeq: ip.Seq, wantNack: ip.Nack,
		deadline: n.now.Add(wait),
	})
	n.sendPiggybacked(ip.TargetAddr, &ping{Seq: seq, Target: ip.Target, SourceName: n.self.name, SourceAddr: n.self.addr})
}

func (n *Node) handleAck(a *ack) {
	if p := &n.probe; p.active && p.seq == a.Seq {
		if m, ok := n.members[p.target]; ok && m.susp != nil && m.susp.verifying {
			// It answered: alive, though its refutation (which normally
			// follows in this compound) may not have reached us.
			m.susp.restart(n.now)
		}
		n.probe = probeState{}
		n.stats.ProbesOK++
		n.awareness.apply(-1)
		return
	}
	for i, r := range n.relays {
		if r.seq == a.Seq {
			n.relays = append(n.relays[:i:i], n.relays[i+1:]...)
			n.sendPiggybacked(r.origin, &ack{Seq: r.originSeq})
			return
		}
	}
	// A late ack: the probe already ended.
}

func (n *Node) handleNack(a *nack) {
	if p := &n.probe; p.active && p.seq == a.Seq {
		p.nacks++
	}
}

// expireRelays nacks the indirect pings whose target stayed silent.
func (n *Node) expireRelays() {
	kept := n.relays[:0]
	for _, r := range n.relays {
		if n.now.Before(r.deadline) {
			kept = append(kept, r)
			continue
		}
		if r.wantNack {
			n.sendPiggybacked(r.origin, &nack{Seq: r.originSeq})
		}
	}
	clear(n.relays[len(kept):])
	n.relays = kept
}
