package jepsen

import (
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/raft"
)

// Election-timed isolation. Figure 8 of the Raft paper (§5.4.2) is a
// schedule, not a fault: a leader's newest entries reach nobody (twice in
// a row, by two leaders of consecutive terms, so that one index holds
// different entries on two nodes), the older of the two comes back and
// leads again, its commit index moves, and it loses contact before the
// entries behind that commit reach the others, so that the other one can
// win with the voters that still lack them. Partitions at random
// instants almost never strike at those moments; these two faults are
// tied to them:
//
//   - a node that has just become leader is cut off from every other node
//     at once (messages in flight are dropped on arrival), so its no-op
//     and first proposals stay on it alone;
//   - a leader is cut off the moment its commit index first moves in its
//     term (seen as its first apply beyond the commit index it was elected
//     with), so the appends that follow that commit reach no one.
//
// Each isolation heals by itself after a drawn time of one half to three
// maximum election timeouts, so the isolated nodes come back in a random
// order. At most two nodes are isolated this way at once (Figure 8 needs
// two; more would leave the cluster without a leader for most of the
// phase, and the history too thin to check). Correct code survives both: what a leader commits is on a
// majority, whatever happens to the leader afterwards.
//
// The faults have their own swarm draws and random stream (streams
// streamIsolateSwarm, streamIsolate): a seed whose swarm leaves them off
// runs exactly as before they existed.

// isolateSwarm draws the election-timed isolation knobs: on in a third of
// the seeds.
func (s *Swarm) isolateSwarm(r *rand.Rand) {
	if r.IntN(3) != 0 {
		return
	}
	s.IsolateNewLeaderPct = []int{20, 40, 60}[r.IntN(3)]
	s.IsolateCommitPct = []int{20, 40, 60}[r.IntN(3)]
}

// maybeIsolateNewLeader is called when n became leader of its term.
func (c *cluster) maybeIsolateNewLeader(n *node) {
	n.commitAtElection = n.h.Status().HardState.Commit
	if c.healed || c.swarm.IsolateNewLeaderPct == 0 || c.isolated >= maxIsolated || c.iso.IntN(100) >= c.swarm.IsolateNewLeaderPct {
		return
	}
	c.isolate(n, FaultIsolateNewLeader)
}

// leaderApplied is called for every entry a node applies: the first one
// a leader applies beyond the commit index it was elected with shows that
// its commit index moved in its term.
func (c *cluster) leaderApplied(n *node, i raft.Index) {
	if n.role != raft.Leader || n.commitMovedTerm == n.leaderTerm || i <= n.commitAtElection {
		return
	}
	n.commitMovedTerm = n.leaderTerm
	if c.healed || c.swarm.IsolateCommitPct == 0 || c.isolated >= maxIsolated || c.iso.IntN(100) >= c.swarm.IsolateCommitPct {
		return
	}
	c.isolate(n, FaultIsolateCommit)
}

// maxIsolated bounds the nodes isolated by these faults at once.
const maxIsolated = 2

// isolate cuts every link to and from n, clients' included, and restores
// them after a drawn time (unless the node was isolated again meanwhile).
// A client that cannot reach the node knows its operation reached nobody;
// letting it time out instead would leave an unknown outcome in the
// history for every operation sent to an isolated leader, which makes the
// linearizability check exponentially slower.
func (c *cluster) isolate(n *node, kind string) {
	c.stats.fault(kind)
	c.w.Tracef("nemesis %s %s", kind, n.id)
	n.isolations++
	mine := n.isolations
	c.isolated++
	n.cutOff = true
	for _, m := range c.nodes {
		if m != n {
			c.w.Net.BlockBoth(n.addr, m.addr)
		}
	}
	et := c.swarm.ElectionTimeoutMax()
	d := et/2 + time.Duration(c.iso.Int64N(int64(3*et-et/2)+1))
	c.w.After(d, func() {
		c.isolated--
		if n.isolations != mine {
			return
		}
		c.w.Tracef("nemesis heal isolation %s", n.id)
		n.cutOff = false
		for _, m := range c.nodes {
			if m != n {
				c.w.Net.Unblock(n.addr, m.addr)
				c.w.Net.Unblock(m.addr, n.addr)
			}
		}
	})
}
