package jepsen

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/agentd/agentd/raft"
)

// The nemesis injects faults during the safety phase. Each fault kind is
// an independent process firing at uniformly random intervals around its
// swarm mean; each fault heals itself after a drawn duration, and heal()
// ends them all at the start of the liveness phase.
//
// Crashes and pauses together never take more than a minority of the
// voters out at once (the safety phase must still make progress for the
// history to mean something); partitions ignore that bound, so some cut
// off the majority and outlast election timeouts.

func (c *cluster) startNemesis() {
	s := c.swarm
	c.every(s.CrashEvery, c.injectCrash)
	c.every(s.PauseEvery, c.injectPause)
	c.every(s.PartitionEvery, c.injectPartition)
	c.every(s.SkewEvery, c.injectSkew)
	c.every(s.SlowDiskEvery, c.injectSlowDisk)
	c.every(s.MemberEvery, c.changeMembership)
	c.every(s.DiskFullEvery, c.injectDiskFull)
	c.w.At(0, c.netProfile)
	c.startTransfers()
	c.startSlowLinks()
	c.startZonePartitions()
}

// every runs f at random intervals averaging mean until the safety phase
// ends, the intervals drawn from the nemesis stream.
func (c *cluster) every(mean time.Duration, f func()) { c.everyFrom(c.nem, mean, f) }

// everyFrom is every with the intervals drawn from r: a fault process
// added later has its own stream, so that the older ones keep their
// schedules.
func (c *cluster) everyFrom(r *rand.Rand, mean time.Duration, f func()) {
	if mean <= 0 {
		return
	}
	var loop func()
	loop = func() {
		if c.healed {
			return
		}
		f()
		c.w.After(drawFrom(r, 2*mean), loop)
	}
	c.w.After(drawFrom(r, 2*mean), loop)
}

func (c *cluster) draw(max time.Duration) time.Duration { return drawFrom(c.nem, max) }

// drawFrom returns a duration in (0, max] drawn from r.
func drawFrom(r *rand.Rand, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(max)) + 1)
}

// victim picks a running member, the leader with probability 2/5.
func (c *cluster) victim() *node {
	if l := c.leader(); l != nil && c.nem.IntN(100) < c.swarm.LeaderVictimPct {
		return l
	}
	var up []*node
	for _, n := range c.members() {
		if n.running() {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[c.nem.IntN(len(up))]
}

// outBudget reports whether one more node may be crashed or paused: a
// majority of the voters of the last committed configuration stays up. A
// non-voter is no part of it (counting one as a voter let 2 of 4 voters
// go down beside it, and nothing committed for the rest of the phase).
func (c *cluster) outBudget() bool {
	out, voters := 0, 0
	for _, n := range c.members() {
		if !slices.Contains(c.confVoters, n.id) {
			continue
		}
		voters++
		if !n.running() {
			out++
		}
	}
	return out+1 <= (voters-1)/2
}

func (c *cluster) injectCrash() {
	n := c.victim()
	if n == nil || !c.outBudget() {
		return
	}
	if c.nem.IntN(2) == 0 {
		// Half the crashes cut the power at one of the node's next fsyncs,
		// so that they strike inside a WAL append (torn tail, a segment
		// without its directory entry) and what the node sent before its
		// write was durable is put to the test.
		c.armPowerLoss(n, FaultCrash, 1+c.nem.IntN(3))
		return
	}
	c.crash(n, FaultCrash)
	c.scheduleRestart(n)
}

// armPowerLoss makes n lose power at its k-th next fsync.
func (c *cluster) armPowerLoss(n *node, kind string, k int) {
	if n.syncArm > 0 || n.dying {
		return
	}
	n.syncArm, n.armKind = k, kind
}

// outBudgetFor reports whether running node n may be taken out now.
func (c *cluster) outBudgetFor(n *node) bool { return !n.running() || c.outBudget() }

// maybeCrashDuring is called by a node starting a snapshot install or a
// local snapshot: with the swarm's probability its power is cut at one of
// the next few fsyncs, inside the multi-step write that follows.
func (c *cluster) maybeCrashDuring(n *node, kind string, ppm int) {
	if c.healed || c.nem.IntN(1_000_000) >= ppm || !c.outBudget() {
		return
	}
	c.armPowerLoss(n, kind, 1+c.nem.IntN(4))
}

// injectDiskFull makes a node's next write come up short with ENOSPC: the
// WAL fails, the process exits (no power loss) and restarts over a torn
// tail.
func (c *cluster) injectDiskFull() {
	n := c.victim()
	if n == nil || !c.outBudget() {
		return
	}
	n.fullArm = true
}

func (c *cluster) injectPause() {
	n := c.victim()
	if n == nil || !c.outBudget() {
		return
	}
	c.stats.fault(FaultPause)
	c.w.Tracef("nemesis pause %s", n.id)
	n.host.Pause()
	epoch := n.host.Epoch()
	c.w.After(c.draw(c.swarm.PauseMax), func() {
		if n.host.Epoch() == epoch {
			c.w.Tracef("nemesis resume %s", n.id)
			n.host.Resume()
		}
	})
}

func (c *cluster) members() []*node {
	var m []*node
	for _, n := range c.nodes {
		if n.joined && !n.removed {
			m = append(m, n)
		}
	}
	return m
}

func (c *cluster) injectPartition() {
	if c.w.Net.Partitioned() {
		return
	}
	m := c.members()
	if len(m) < 2 {
		return
	}
	net := c.w.Net
	kind := ""
	switch c.nem.IntN(4) {
	case 0: // two sides, random split
		kind = FaultPartitionSymmetric
		side := c.split(m)
		for _, a := range m {
			for _, b := range m {
				if side[a] != side[b] {
					net.Block(a.addr, b.addr)
				}
			}
		}
	case 1: // some directed links cut
		kind = FaultPartitionAsym
		for _, a := range m {
			for _, b := range m {
				if a != b && c.nem.IntN(3) == 0 {
					net.Block(a.addr, b.addr)
				}
			}
		}
	case 2:
		l := c.leader()
		if l == nil {
			return
		}
		kind = FaultIsolateLeader
		for _, b := range m {
			net.BlockBoth(l.addr, b.addr)
		}
	case 3: // two sides that can both talk to one bridge node
		kind = FaultBridge
		bridge := m[c.nem.IntN(len(m))]
		side := c.split(m)
		for _, a := range m {
			for _, b := range m {
				if a != bridge && b != bridge && side[a] != side[b] {
					net.Block(a.addr, b.addr)
				}
			}
		}
	}
	c.stats.fault(kind)
	c.w.Tracef("nemesis %s", kind)
	c.w.After(c.draw(c.swarm.PartitionMax), func() {
		c.w.Tracef("nemesis heal partition")
		net.Heal()
	})
}

// split assigns each node to side true or false, both sides non-empty.
func (c *cluster) split(m []*node) map[*node]bool {
	side := map[*node]bool{}
	k := 1 + c.nem.IntN(len(m)-1) // nodes on side true
	perm := c.nem.Perm(len(m))
	for i, p := range perm {
		side[m[p]] = i < k
	}
	return side
}

func (c *cluster) injectSkew() {
	n := c.victim()
	if n == nil || c.swarm.SkewPPM == 0 {
		return
	}
	c.stats.fault(FaultClockSkew)
	rate := 1_000_000 - c.swarm.SkewPPM + c.nem.Int64N(2*c.swarm.SkewPPM+1)
	c.w.Tracef("nemesis skew %s rate %d", n.id, rate)
	n.host.Clock().SetRate(rate)
}

func (c *cluster) injectSlowDisk() {
	n := c.victim()
	if n == nil {
		return
	}
	c.stats.fault(FaultSlowDisk)
	factor := int64(5 + c.nem.IntN(50))
	c.w.Tracef("nemesis slow-disk %s x%d", n.id, factor)
	n.host.SetDiskSlow(factor)
	c.w.After(c.draw(c.swarm.SlowMax), func() { n.host.SetDiskSlow(1) })
}

// netProfile switches message loss, duplication and reordering on and off
// so that some stretches are clean and some lossy.
func (c *cluster) netProfile() {
	if c.healed {
		return
	}
	cfg := c.swarm.Net
	var on []string
	if c.nem.IntN(2) == 0 {
		cfg.LossPPM = 0
	} else {
		on = append(on, FaultNetLoss)
	}
	if c.nem.IntN(2) == 0 {
		cfg.DupPPM = 0
	} else {
		on = append(on, FaultNetDup)
	}
	if c.nem.IntN(2) == 0 {
		cfg.ReorderPPM = 0
	} else {
		on = append(on, FaultNetReorder)
	}
	for _, k := range on {
		c.stats.fault(k)
	}
	c.w.Net.SetConfig(cfg)
	c.w.After(c.draw(2*time.Second), c.netProfile)
}

// heal ends every fault: partitions, pauses, slow disks, skew, lossy
// network; crashed members restart.
func (c *cluster) heal() {
	c.healed = true
	c.w.Tracef("nemesis heal all")
	c.w.Net.Heal()
	c.healSlowLinks()
	cfg := c.swarm.Net
	cfg.LossPPM, cfg.DupPPM, cfg.ReorderPPM = 0, 0, 0
	c.w.Net.SetConfig(cfg)
	for _, n := range c.nodes {
		n.syncArm, n.fullArm, n.cutOff = 0, false, false
	}
	for _, n := range c.members() {
		n.host.SetDiskSlow(1)
		n.host.Clock().SetRate(1_000_000)
		n.host.Resume()
		if !n.host.Up() {
			c.restart(n)
		}
	}
	c.stopUnawareRemoved()
}

// maybeCrashNewLeader crashes, with the swarm's probability, a node that
// just became leader, within a few network round trips: its first
// replication round (its predecessors' entries, its no-op) is cut short,
// and leaders follow each other quickly, each leaving a different
// unreplicated tail (Figure 8 of the Raft paper).
func (c *cluster) maybeCrashNewLeader(n *node) {
	if c.healed || c.swarm.CrashNewLeaderPct == 0 || c.nem.IntN(100) >= c.swarm.CrashNewLeaderPct {
		return
	}
	epoch := n.host.Epoch()
	c.w.After(c.draw(4*c.swarm.Net.MaxDelay+2*c.swarm.DiskLatency), func() {
		if n.host.Epoch() == epoch && n.running() && !c.healed && c.outBudget() {
			c.crash(n, FaultCrash)
			c.scheduleRestart(n)
		}
	})
}

// sent is called for every message a node hands to its transport: with
// the swarm's probability, an acknowledgement (a granted vote, an accepted
// append) sent while the node still has disk work pending is followed at
// once by a crash that loses that work. Correct code sends these only
// after the state they vouch for is durable.
func (c *cluster) sent(n *node, m *raft.Message) {
	if c.healed || m.Reject || !n.diskW.busy {
		return
	}
	switch m.Type {
	case raft.MsgVoteResp:
		if c.nem.IntN(100) >= c.swarm.CrashAfterVotePct {
			return
		}
	case raft.MsgAppResp:
		if c.nem.IntN(1_000_000) >= c.swarm.CrashAfterAppPPM {
			return
		}
	default:
		return
	}
	if !c.outBudget() {
		return
	}
	epoch := n.host.Epoch()
	net := c.swarm.Net
	down := c.draw(2*net.MaxDelay + net.ReorderDelay)
	c.w.After(0, func() { // after the message left
		if n.host.Epoch() == epoch && n.running() {
			c.crash(n, FaultCrash)
			c.w.After(down, func() { c.restart(n) })
		}
	})
}
