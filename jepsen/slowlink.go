package jepsen

import (
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/raft"
)

// Slow links. A stalled connection (a full send buffer, a congested
// switch port, a NIC queue behind a paused VM) neither loses messages nor
// reorders them among themselves: it holds everything to and from one
// server for a while and then delivers it, late and in order. What was
// sent just before the stall arrives on time, what is sent during it
// arrives a hold later; a message held for longer than an election, a
// commit and a client's round trip reaches a server that has meanwhile
// been deposed, and its answer reaches one that has not yet heard so.
// The lossy and reordering network profiles hold single datagrams for
// at most 600 ms, at random, never a whole server's traffic.
//
// In a third of the seeds (drawn from the slow-link stream itself), at
// random intervals averaging 1-4 s, one member (the leader two times in
// three) gets slow: every datagram sent to or from it is held for an
// extra half to three maximum election timeouts, for a window of one to
// three holds; snapshot streams are not held. One member at a time. Half
// the stalls of a leader strike mid round trip: right after its next
// ReadIndex heartbeat round has left (within a hold's time, else not at
// all), so that the answers confirming that round are the ones held,
// while reads keep arriving and the followers, hearing nothing more,
// elect another leader.
//
// Everything is drawn from its own stream (streamSlowLink): in the other
// two thirds of the seeds nothing is drawn from any other stream and the
// run is exactly as before this fault existed.

// slowStall is a stall chosen but not begun: it waits for its node's
// next heartbeat round.
type slowStall struct {
	n            *node
	hold, window time.Duration
	armedUntil   time.Duration
}

// startSlowLinks starts the slow-link process in a third of the seeds.
func (c *cluster) startSlowLinks() { c.startInAThird(c.slowLink, c.injectSlowLink) }

// startInAThird runs inject every 1-4 s on average (the mean drawn once),
// in a third of the seeds, drawing only from r: the other two thirds draw
// nothing from it beyond the first coin.
func (c *cluster) startInAThird(r *rand.Rand, inject func()) {
	if r.IntN(3) != 0 {
		return
	}
	mean := time.Second + drawFrom(r, 3*time.Second)
	c.everyFrom(r, mean, inject)
}

func (c *cluster) injectSlowLink() {
	r := c.slowLink
	if c.slowNode != nil || (c.slowArm != nil && c.w.Now() < c.slowArm.armedUntil) {
		return
	}
	c.slowArm = nil
	n := c.leader()
	leader := n != nil && r.IntN(3) != 0
	if !leader {
		var up []*node
		for _, m := range c.members() {
			if m.running() {
				up = append(up, m)
			}
		}
		if len(up) == 0 {
			return
		}
		n = up[r.IntN(len(up))]
	}
	et := c.swarm.ElectionTimeoutMax()
	st := &slowStall{n: n, hold: et/2 + drawFrom(r, 5*et/2)}
	st.window = st.hold + drawFrom(r, 2*st.hold)
	if leader && r.IntN(2) == 0 {
		st.armedUntil = c.w.Now() + st.hold
		c.slowArm = st
		return
	}
	c.beginStall(st)
}

// sentByLeader is called for every message a node sends: a heartbeat
// round (a heartbeat carrying a ReadIndex context) sets off an armed
// stall once the whole broadcast has left.
func (c *cluster) sentByLeader(n *node, m *raft.Message) {
	st := c.slowArm
	if st == nil || st.n != n || m.Type != raft.MsgHeartbeat || len(m.Context) == 0 {
		return
	}
	c.slowArm = nil
	if c.healed || c.w.Now() >= st.armedUntil {
		return
	}
	c.w.After(0, func() {
		if !c.healed && c.slowNode == nil {
			c.beginStall(st)
		}
	})
}

func (c *cluster) beginStall(st *slowStall) {
	n := st.n
	c.slowNode = n
	c.stats.fault(FaultSlowLink)
	c.w.Tracef("nemesis slow-link %s hold %v for %v", n.id, st.hold, st.window)
	c.w.Net.SetSlow(n.addr, st.hold)
	c.w.After(st.window, func() {
		if c.slowNode == n {
			c.w.Tracef("nemesis slow-link %s ends", n.id)
			c.w.Net.SetSlow(n.addr, 0)
			c.slowNode = nil
		}
	})
}

// healSlowLinks ends a slow link at the start of the liveness phase
// (datagrams already held still arrive late).
func (c *cluster) healSlowLinks() {
	c.slowArm = nil
	if c.slowNode != nil {
		c.w.Net.SetSlow(c.slowNode.addr, 0)
		c.slowNode = nil
	}
}
