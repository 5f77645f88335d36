package jepsen

import (
	"github.com/agentd/agentd/raft"
)

// Zone partitions. A deployment spreads its servers over zones (racks,
// availability zones, data centres), and a network split follows the zone
// boundary: the servers of one zone stay together. Read replicas
// (non-voters) are commonly placed next to the leader's zone, where the
// writes come from, and the primary zone rarely holds a majority of the
// voters. When that zone is cut off, the leader keeps its non-voters and
// a minority of the voters, while the other side holds a majority, elects
// and commits. Random splits (nemesis.go) almost never group the leader
// with every non-voter and exactly the largest voter minority.
//
// In a third of the seeds (drawn from the zone stream itself), at random
// intervals averaging 1-4 s, and only while no other partition holds, the
// members are split in two: the leader, every non-voter of its
// configuration and as many other voters as keep its side one voter short
// of a quorum, against the rest. The split heals after one to four
// maximum election timeouts, long enough for the other side to elect and
// commit while clients still reach the old leader. Correct code survives
// it: only voters count toward an election, a commit or a read
// confirmation.
//
// Everything is drawn from its own stream (streamZone): in the other two
// thirds of the seeds nothing is drawn from any other stream and the run
// is exactly as before this fault existed.

// startZonePartitions starts the zone-partition process in a third of the
// seeds.
func (c *cluster) startZonePartitions() { c.startInAThird(c.zone, c.injectZonePartition) }

func (c *cluster) injectZonePartition() {
	r := c.zone
	net := c.w.Net
	l := c.leader()
	if l == nil || net.Partitioned() {
		return
	}
	voters, nonvoters := splitSuffrage(l)
	quorum := len(voters)/2 + 1
	side := map[raft.NodeID]bool{l.id: true}
	for _, s := range nonvoters {
		side[s.ID] = true
	}
	inZone := 1 // the leader, a voter
	for _, i := range r.Perm(len(voters)) {
		if inZone >= quorum-1 {
			break
		}
		if v := voters[i].ID; v != l.id {
			side[v] = true
			inZone++
		}
	}
	m := c.members()
	for _, a := range m {
		for _, b := range m {
			if side[a.id] != side[b.id] {
				net.Block(a.addr, b.addr)
			}
		}
	}
	c.stats.fault(FaultZonePartition)
	c.w.Tracef("nemesis %s: %s with %d of %d voters and %d non-voters", FaultZonePartition, l.id, inZone, len(voters), len(nonvoters))
	et := c.swarm.ElectionTimeoutMax()
	c.w.After(et+drawFrom(r, 3*et), func() {
		c.w.Tracef("nemesis heal %s", FaultZonePartition)
		net.Heal()
	})
}
