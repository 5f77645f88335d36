package swim

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// localState is the full table for a push-pull, dead and left members
// included: a member one side declared dead must stay dead on the other
// until it refutes with a higher incarnation.
func (n *Node) localState(join, response bool) *pushPull {
	pp := &pushPull{Join: join, Response: response, EventLTime: n.userEvents.clock}
	for _, m := range n.order {
		pm := pushPullMember{Name: m.name, Addr: m.addr, Tags: maps.Clone(m.tags), Inc: m.inc, State: m.state}
		if m.state != StateAlive {
			pm.Accuser = m.accuser
		}
		pp.Members = append(pp.Members, pm)
	}
	return pp
}

// periodicPushPull starts a full-state exchange with a random live member
// (anti-entropy: repairs whatever gossip lost).
func (n *Node) periodicPushPull() {
	if n.leaving {
		return
	}
	peers := n.kRandom(1, func(m *member) bool { return !m.state.deadOrLeft() })
	if len(peers) == 0 {
		return
	}
	n.sendStream(peers[0].addr, encode(n.localState(false, false)))
}

// handlePushPull merges a remote table. A request is answered with our
// table as it was before the merge (memberlist does the same), so each
// side learns exactly what the other knew.
func (n *Node) handlePushPull(pp *pushPull) []byte {
	var reply []byte
	if !pp.Response {
		reply = encode(n.localState(false, true))
	} else if n.join.pending {
		n.join.pending = false
		n.join.joined = true
	}
	n.userEvents.witness(pp.EventLTime)
	n.mergeState(pp.Members)
	return reply
}

// mergeState applies a remote table with memberlist's rules: alive and
// left are taken as claims; a remote dead is only a suspicion here, so a
// member another side gave up on gets its chance to refute.
//
// A remote suspect or dead entry is the accusation of the member that
// made it (pushPullMember.Accuser), relayed; memberlist files it under
// the receiver's own name, which counts the exchange as an independent
// Lifeguard confirmation (§4.2) that no probe backs: one starved
// accuser's suspicion, spread by push-pull, then shrank healthy
// members' timers to the minimum before the subject's refutation
// reached them (found by the swimsim simulator, seeds 670, 694, 957).
// Without a named accuser (an older peer) it is filed under the
// receiver's name as memberlist does, but never as a confirmation.
func (n *Node) mergeState(remote []pushPullMember) {
	for i := range remote {
		r := &remote[i]
		if r.Name == "" {
			n.stats.Dropped++
			continue
		}
		switch r.State {
		case StateAlive:
			n.handleAlive(&alive{Inc: r.Inc, Node: r.Name, Addr: r.Addr, Tags: r.Tags})
		case StateLeft:
			n.handleDead(&dead{Inc: r.Inc, Node: r.Name, From: r.Name})
		case StateDead, StateSuspect:
			m, known := n.members[r.Name]
			if !known {
				n.learnAccused(r)
				continue
			}
			if r.Accuser == "" && m.susp != nil {
				continue
			}
			n.handleSuspect(&suspect{Inc: r.Inc, Node: r.Name, From: cmp.Or(r.Accuser, n.self.name)})
		}
	}
}

// learnAccused adds a member we had never heard of that the remote table
// holds as dead or suspect. memberlist drops such entries, but then a
// member that joins through a peer which had declared X dead (across a
// partition) never learns X's address: if that peer then fails, the two
// sides know nothing of each other and never merge (found by the swimsim
// simulator). X is kept as suspect, dead or suspect remotely alike, by
// the rule mergeState applies to known members (a remote dead is only a
// suspicion here): it is probed, told (buddy system) and refutes, or
// times out and becomes a reconnect target. Taken as dead at once, a
// member joining through a peer still cut off from the pool declared
// every healthy member dead on its word (found by the swimsim simulator,
// seed 112 at N 3-200).
func (n *Node) learnAccused(r *pushPullMember) {
	if r.Addr == "" || tagsSize(r.Tags) > n.cfg.MaxTagsBytes {
		n.stats.Dropped++
		return
	}
	n.handleAlive(&alive{Inc: r.Inc, Node: r.Name, Addr: r.Addr, Tags: r.Tags})
	n.handleSuspect(&suspect{Inc: r.Inc, Node: r.Name, From: cmp.Or(r.Accuser, n.self.name)})
}

// joinState tracks a Join until a push-pull reply arrives.
type joinState struct {
	pending  bool
	joined   bool
	addrs    []string
	attempts int
	nextAt   time.Time
}

// maxJoinBackoffShift caps the retry delay at 8 × JoinRetryInterval.
const maxJoinBackoffShift = 3

// Join contacts the given addresses with a push-pull each; the first reply
// completes the join. Without one, the attempt is repeated with doubling
// delay (JoinRetryInterval, at most 8×), up to JoinMaxAttempts.
func (n *Node) Join(now time.Time, addrs []string) error {
	n.advance(now)
	if n.leaving {
		return errLeft("join")
	}
	addrs = slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == "" || a == n.self.addr })
	if len(addrs) == 0 {
		return errNoAddrs
	}
	n.join = joinState{pending: true, joined: n.join.joined, addrs: addrs, attempts: 1, nextAt: n.now.Add(n.cfg.JoinRetryInterval)}
	n.sendJoin()
	return nil
}

func (n *Node) sendJoin() {
	msg := encode(n.localState(true, false))
	for _, a := range n.join.addrs {
		n.sendStream(a, msg)
	}
}

func (n *Node) tickJoin() {
	j := &n.join
	if !j.pending || n.now.Before(j.nextAt) {
		return
	}
	if n.cfg.JoinMaxAttempts > 0 && j.attempts >= n.cfg.JoinMaxAttempts {
		j.pending = false
		n.stats.JoinFailures++
		n.log.Warn("join failed", "addrs", j.addrs, "attempts", j.attempts)
		return
	}
	j.nextAt = n.now.Add(n.cfg.JoinRetryInterval << min(j.attempts, maxJoinBackoffShift))
	j.attempts++
	n.sendJoin()
}

// reconnect tries a random failed member again, with probability
// failed/alive as Serf does, so a healed partition merges back even when
// both sides have declared each other dead.
func (n *Node) reconnect() {
	if n.leaving {
		return
	}
	failed := n.kRandom(len(n.order), func(m *member) bool { return m.state == StateDead })
	if len(failed) == 0 {
		return
	}
	if n.cfg.Rand.Float64() > float64(len(failed))/float64(n.estNumNodes()) {
		return
	}
	n.sendStream(failed[0].addr, encode(n.localState(false, false)))
}
