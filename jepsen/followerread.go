package jepsen

import "math/rand/v2"

// Follower reads: agentd serves ?consistent reads on followers too (the
// follower asks the leader for a read index, then waits for its own apply
// to reach it), so a bug in that path, in the core's forwarding or in the
// driver's wait for apply, must be observable. Gets sent to the leader
// cannot show the latter: the leader acknowledged the writes by applying
// them itself, so its apply is never behind them. A follower's apply lags.
//
// The knob and the choices have their own random streams (streams
// streamFollowerReadSwarm, streamFollowerRead): a seed whose swarm leaves
// follower reads off replays as it did before they existed.

// followerReadSwarm draws the follower-read knob: on in a third of the
// seeds.
func (s *Swarm) followerReadSwarm(r *rand.Rand) {
	if r.IntN(3) != 0 {
		return
	}
	s.FollowerReadPct = []int{20, 50, 80}[r.IntN(3)]
}

// followerFor returns, for a get the client would send to target, another
// running member to send it to instead, or nil to keep target. Only when
// target leads (a client that does not know the leader first finds it),
// and only members of a committed configuration: a node whose addition
// never committed may follow a leader that has long moved on and never
// answers.
func (c *cluster) followerFor(target *node) *node {
	if c.swarm.FollowerReadPct == 0 || !target.isLeader() || c.followerRead.IntN(100) >= c.swarm.FollowerReadPct {
		return nil
	}
	var others []*node
	for _, n := range c.members() {
		if n != target && n.running() {
			others = append(others, n)
		}
	}
	if len(others) == 0 {
		return nil
	}
	return others[c.followerRead.IntN(len(others))]
}
