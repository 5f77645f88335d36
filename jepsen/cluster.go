package jepsen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// cluster is one run's world: the Raft members, the clients, the nemesis
// and the checkers, all on one World.
type cluster struct {
	opt   Options
	swarm Swarm
	w     *world.World

	// Per-subsystem randomness (see the stream constants).
	raftRand, nem, clientRand, diskRand *rand.Rand
	iso                                 *rand.Rand // election-timed isolation (isolate.go)
	followerRead                        *rand.Rand // gets sent to a follower (followerread.go)
	member                              *rand.Rand // membership choices added later (membership.go)
	transfer                            *rand.Rand // leadership transfers (transfer.go)
	slowLink                            *rand.Rand // slow links (slowlink.go)
	slowNode                            *node      // the member whose link is slow now
	slowArm                             *slowStall // a stall waiting for a heartbeat round
	bitRot                              *rand.Rand // bit-rot probe (bitrot.go)
	zone                                *rand.Rand // zone partitions (zone.go)
	isolated                            int        // nodes isolated by it now

	nodes  []*node // creation order; removed nodes stay, flagged
	byID   map[raft.NodeID]*node
	nextID int // IDs are n1, n2, ...; never reused

	clients   []*client
	reqSeq    uint64
	history   *kv.History
	written   map[string]bool   // keys ever written (for the final reads)
	lastValue map[string]string // a recent value per key, for CAS guesses

	check  *check.Cluster
	stats  Stats
	healed bool // liveness phase: no new faults

	// Election bookkeeping for the summary.
	leaderTerms    map[raft.Term]bool
	candidateTerms map[raft.Term]bool

	// Membership changes: at most one in flight.
	confPending bool
	confBy      *node           // the leader that proposed it
	confH       *driver.Handler // and its process at the time
	confIndex   raft.Index      // highest committed configuration entry seen
	confVoters  []raft.NodeID   // the voters of that configuration

	failover *failoverProbe // failover mode only
}

func newCluster(opt Options) *cluster {
	root := newRand(opt.Seed)
	swarmRand := clock.Sub(root, streamSwarm)
	c := &cluster{
		opt:            opt,
		swarm:          newSwarm(swarmRand),
		raftRand:       clock.Sub(root, streamRaft),
		nem:            clock.Sub(root, streamNemesis),
		clientRand:     clock.Sub(root, streamClients),
		diskRand:       clock.Sub(root, streamDisk),
		byID:           map[raft.NodeID]*node{},
		history:        kv.NewHistory(),
		written:        map[string]bool{},
		lastValue:      map[string]string{},
		check:          check.New(),
		leaderTerms:    map[raft.Term]bool{},
		candidateTerms: map[raft.Term]bool{},
	}
	// Streams added later are derived after the older ones, so that no
	// older stream shifts.
	netRand := clock.Sub(root, streamNet)
	c.swarm.isolateSwarm(clock.Sub(root, streamIsolateSwarm))
	c.iso = clock.Sub(root, streamIsolate)
	c.swarm.followerReadSwarm(clock.Sub(root, streamFollowerReadSwarm))
	c.followerRead = clock.Sub(root, streamFollowerRead)
	c.member = clock.Sub(root, streamMembership)
	c.transfer = clock.Sub(root, streamTransfer)
	c.slowLink = clock.Sub(root, streamSlowLink)
	c.bitRot = clock.Sub(root, streamBitRot)
	c.zone = clock.Sub(root, streamZone)
	c.swarm.flowSwarm(clock.Sub(root, streamFlowSwarm))
	c.swarm.segmentSwarm(clock.Sub(root, streamSegmentSwarm))
	if opt.Tweak != nil {
		opt.Tweak(&c.swarm)
	}
	c.w = world.New(netRand)
	c.w.Net.SetConfig(c.swarm.Net)
	if opt.Trace != nil {
		c.w.SetTrace(opt.Trace)
	}
	return c
}

// newMember creates a host and a node with a fresh ID.
func (c *cluster) newMember() *node {
	c.nextID++
	id := raft.NodeID(fmt.Sprintf("n%d", c.nextID))
	h := c.w.AddHost(string(id))
	h.SetDisk(c.swarm.DiskLatency)
	n := &node{c: c, id: id, addr: string(id), host: h}
	n.installFaults()
	for _, m := range c.nodes {
		// Discovery (Serf, in Consul) tells the running servers of a new
		// one too: a server that has not yet received the configuration
		// naming it could not answer it otherwise (its vote, its acks),
		// and so could never be caught up by it as leader.
		if m.h != nil {
			m.h.LearnAddr(id, n.addr)
		}
	}
	c.nodes = append(c.nodes, n)
	c.byID[id] = n
	return n
}

// bootstrap creates the initial voters, writes the first configuration to
// each disk and starts them.
func (c *cluster) bootstrap() {
	var conf raft.Configuration
	for range c.swarm.Voters {
		n := c.newMember()
		conf.Servers = append(conf.Servers, raft.Server{ID: n.id, Address: n.addr, Suffrage: raft.Voter})
	}
	c.confVoters = votersOf(conf)
	for _, n := range c.nodes {
		n.bootstrap(conf)
		n.joined = true
		n.start()
	}
}

// leader returns a running node that believes it leads the highest term,
// or nil.
func (c *cluster) leader() *node {
	var best *node
	for _, n := range c.nodes {
		if n.running() && n.joined && !n.removed && n.isLeader() && (best == nil || n.term() > best.term()) {
			best = n
		}
	}
	return best
}

func (c *cluster) crash(n *node, kind string) {
	if !n.host.Up() {
		return
	}
	c.stats.fault(kind)
	c.w.Tracef("nemesis %s %s", kind, n.id)
	n.stop()
	n.host.Crash(c.diskRand)
}

// crashProcess kills n's process without a power loss (its unsynced
// writes stay in the page cache) and restarts it later.
func (c *cluster) crashProcess(n *node, kind string) {
	if !n.host.Up() {
		return
	}
	c.stats.fault(kind)
	c.w.Tracef("nemesis %s %s", kind, n.id)
	n.stop()
	n.host.Crash(nil)
	c.scheduleRestart(n)
}

// scheduleRestart restarts a crashed n after a drawn downtime.
func (c *cluster) scheduleRestart(n *node) {
	c.w.After(c.draw(c.swarm.DownMax), func() { c.restart(n) })
}

func (c *cluster) restart(n *node) {
	if n.host.Up() || n.removed {
		return
	}
	c.w.Tracef("nemesis restart %s", n.id)
	n.host.Restart()
	n.start()
}

// observeRole is called by a node whenever its role or term changes.
func (c *cluster) observeRole(n *node, role raft.Role, term raft.Term) {
	switch role {
	case raft.Leader:
		if !c.leaderTerms[term] {
			c.leaderTerms[term] = true
			if len(c.leaderTerms) > 1 {
				c.stats.LeaderChanges++
			}
		}
		c.check.BecameLeader(n.id, term, n.voters())
		c.maybeCrashNewLeader(n)
		c.maybeIsolateNewLeader(n)
	case raft.Candidate:
		c.candidateTerms[term] = true
	}
}

// run advances the world to t, stopping early at a violation.
func (c *cluster) run(t time.Duration) {
	c.w.RunUntil(t, func() bool { return c.check.Err() != nil })
}

// runWhile advances until cond is false, the deadline passes or a
// violation; it reports whether cond became false.
func (c *cluster) runWhile(deadline time.Duration, cond func() bool) bool {
	for cond() {
		if c.check.Err() != nil || c.w.Now() >= deadline {
			return false
		}
		at, ok := c.w.NextAt()
		if !ok || at > deadline {
			c.w.RunUntil(deadline, nil)
			return !cond()
		}
		c.w.Step()
	}
	return true
}

func (c *cluster) logf(format string, args ...any) {
	if c.opt.Log != nil {
		fmt.Fprintf(c.opt.Log, "seed %d %v: %s\n", c.opt.Seed, c.w.Now(), fmt.Sprintf(format, args...))
	}
}

var _ io.Writer
