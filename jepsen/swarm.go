package jepsen

import (
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/jepsen/world"
)

// Sub-seed streams: one per subsystem, so that one subsystem drawing more
// numbers does not shift another's sequence. Only append.
const (
	streamSwarm uint64 = iota + 1
	streamNet
	streamRaft
	streamNemesis
	streamClients
	streamDisk
	streamIsolateSwarm      // election-timed isolation knobs (isolate.go)
	streamIsolate           // election-timed isolation decisions
	streamFollowerReadSwarm // follower-read knob (followerread.go)
	streamFollowerRead      // which gets go to a follower
	streamMembership        // membership-change choices added later (membership.go)
	streamTransfer          // leadership transfers (transfer.go)
	streamSlowLink          // slow links (slowlink.go)
	streamBitRot            // bit-rot probe (bitrot.go)
	streamZone              // zone partitions (zone.go)
	streamFlowSwarm         // byte-bounded replication pipeline (flowSwarm)
	streamSegmentSwarm      // tiny WAL segments (segmentSwarm)
)

// Swarm is every random choice of a run that is made once, up front, from
// the seed (TigerBeetle's "swarm testing": each seed explores a different
// corner, rather than every seed the same average).
type Swarm struct {
	Voters  int // initial voters, 3..7
	Clients int // concurrent clients

	Net world.NetConfig

	DiskLatency time.Duration // one fsync

	// Clock-rate skew bound, ppm around 1e6.
	SkewPPM int64

	// Mean virtual time between injections of each fault kind (0: never).
	CrashEvery, PauseEvery, PartitionEvery, SkewEvery, SlowDiskEvery, MemberEvery, DiskFullEvery time.Duration
	// How long a partition / pause / slow disk lasts: up to this (drawn
	// per fault), some outlasting several election timeouts.
	PartitionMax, PauseMax, DownMax, SlowMax time.Duration

	// Chance (ppm) to crash a node that starts installing a snapshot or
	// compacting its log, during that work.
	CrashInSnapshotPPM, CrashInCompactPPM int
	// Chance to crash a node right after it granted a vote (percent) or
	// acknowledged an append (ppm) while a disk job was pending — a
	// message that vouches for state not yet durable would be exposed —
	// and restart it quickly, while the election it took part in is
	// still going on.
	CrashAfterVotePct, CrashAfterAppPPM int
	// CrashNewLeaderPct is the chance that a new leader is crashed within
	// its first few round trips.
	CrashNewLeaderPct int
	// LeaderVictimPct is the chance that a crash, pause or skew picks the
	// leader.
	LeaderVictimPct int
	// Election-timed isolation (isolate.go): the chance that a new leader
	// is cut off at once, and that a leader is cut off the moment its
	// commit index first moves in its term (percent; 0: never).
	IsolateNewLeaderPct, IsolateCommitPct int
	// FollowerReadPct is the chance that a get meant for the leader goes
	// to another node, which serves it by the follower ReadIndex path
	// (followerread.go; 0: never).
	FollowerReadPct int

	AutoPromote bool // the core promotes caught-up non-voters itself

	// Raft core settings (raft.Config).
	TickInterval    time.Duration
	ElectionTicks   int
	PreVote         bool
	CheckQuorum     bool
	MaxMsgBytes     uint64
	MaxInflightMsgs int
	// MaxInflightBytes bounds the entry bytes in flight to one follower
	// (raft.Config), in a third of the seeds (flowSwarm); 0 keeps
	// raft.SimConfig's 32 MiB, which no run comes near.
	MaxInflightBytes uint64
	SegmentBytes     int64 // WAL segment size: small, so rotation and segment removal happen

	SnapshotEvery uint64 // entries between local snapshots
	TrailingLogs  uint64 // entries kept behind a snapshot

	Keys      int           // key space size
	OpTimeout time.Duration // a client gives up (outcome unknown)

	SafetyPhase time.Duration // faults on
	// Liveness phase: after healing, the cluster must elect a leader and
	// commit a new entry within LivenessBound.
	LivenessBound time.Duration
}

// ElectionTimeoutMax is the upper randomized election timeout, 2 *
// ElectionTicks * TickInterval.
func (s *Swarm) ElectionTimeoutMax() time.Duration {
	return 2 * time.Duration(s.ElectionTicks) * s.TickInterval
}

func newSwarm(r *rand.Rand) Swarm {
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo)+1)) }
	s := Swarm{
		Voters:  3 + r.IntN(5),
		Clients: 3 + r.IntN(5),
		Net: world.NetConfig{
			MinDelay:         between(200*time.Microsecond, 2*time.Millisecond),
			LossPPM:          r.IntN(50_000),
			DupPPM:           r.IntN(30_000),
			ReorderPPM:       r.IntN(50_000),
			ReorderDelay:     between(time.Millisecond, 40*time.Millisecond),
			StreamBytesPerMs: 1 << 20,
		},
		DiskLatency:        between(100*time.Microsecond, 3*time.Millisecond),
		SkewPPM:            int64(r.IntN(100_000)),
		CrashEvery:         between(1*time.Second, 4*time.Second),
		PauseEvery:         between(1*time.Second, 5*time.Second),
		PartitionEvery:     between(700*time.Millisecond, 3*time.Second),
		SkewEvery:          between(2*time.Second, 8*time.Second),
		SlowDiskEvery:      between(2*time.Second, 8*time.Second),
		MemberEvery:        between(2*time.Second, 5*time.Second),
		PartitionMax:       between(100*time.Millisecond, 2*time.Second),
		PauseMax:           between(50*time.Millisecond, 1500*time.Millisecond),
		DownMax:            between(50*time.Millisecond, 1500*time.Millisecond),
		SlowMax:            between(100*time.Millisecond, 2*time.Second),
		CrashInSnapshotPPM: 300_000 + r.IntN(500_000),
		CrashInCompactPPM:  20_000 + r.IntN(100_000),
		SnapshotEvery:      uint64(20 + r.IntN(80)),
		TrailingLogs:       uint64(5 + r.IntN(30)),
		Keys:               3 + r.IntN(8),
		OpTimeout:          between(300*time.Millisecond, time.Second),
		SafetyPhase:        between(8*time.Second, 12*time.Second),
		AutoPromote:        r.IntN(2) == 0,
		DiskFullEvery:      between(2*time.Second, 8*time.Second),
		TickInterval:       15 * time.Millisecond,
		ElectionTicks:      10,
		PreVote:            true,
		CheckQuorum:        true,
		MaxMsgBytes:        16 << 10,
		MaxInflightMsgs:    16,
		SegmentBytes:       int64(2<<10 + r.IntN(30<<10)),
	}
	s.Net.MaxDelay = s.Net.MinDelay + between(0, 10*time.Millisecond)
	// Corners that one average configuration would rarely visit: a slow
	// disk (a wide window between a message and the durability it
	// vouches for), short downtimes (a node is back within the same
	// election), one entry per MsgApp and a single message in flight (a
	// new leader replicates its predecessors' entries one by one, before
	// its own: Figure 8), no pre-vote or check-quorum (more concurrent
	// candidates), short election timeouts, frequent leader crashes, a
	// network that holds messages back past an election timeout.
	if r.IntN(4) == 0 {
		s.DiskLatency = between(3*time.Millisecond, 20*time.Millisecond)
		// Fewer commits per second: more clients and a longer phase keep
		// the history as rich as elsewhere.
		s.Clients += 4
		s.SafetyPhase += 4 * time.Second
		s.OpTimeout += 500 * time.Millisecond
	}
	if r.IntN(3) == 0 {
		s.DownMax = between(5*time.Millisecond, 100*time.Millisecond)
	}
	if r.IntN(2) == 0 {
		s.MaxMsgBytes = 1
	}
	s.MaxInflightMsgs = []int{1, 2, 4, 16}[r.IntN(4)]
	s.PreVote = r.IntN(2) != 0
	s.CheckQuorum = r.IntN(4) != 0
	s.ElectionTicks = 6 + r.IntN(7)
	if r.IntN(3) == 0 {
		s.CrashEvery = between(300*time.Millisecond, time.Second)
	}
	s.CrashAfterVotePct = []int{0, 30, 80}[r.IntN(3)]
	s.CrashAfterAppPPM = []int{0, 5_000, 20_000}[r.IntN(3)]
	s.LeaderVictimPct = []int{40, 40, 80}[r.IntN(3)]
	s.CrashNewLeaderPct = []int{0, 0, 10, 30}[r.IntN(4)]
	if r.IntN(3) == 0 {
		// A slow network that holds some messages back for longer than an
		// election timeout (a stalled connection): requests and answers
		// of one election arrive during the next one, or after a voter
		// restarted.
		s.Net.MaxDelay = s.Net.MinDelay + between(10*time.Millisecond, 40*time.Millisecond)
		s.Net.ReorderDelay = between(100*time.Millisecond, 600*time.Millisecond)
		s.Net.ReorderPPM = 100_000 + r.IntN(100_000)
		// One entry per round trip would starve the clients.
		s.MaxInflightMsgs = max(s.MaxInflightMsgs, 4)
		s.CrashEvery = max(s.CrashEvery, time.Second)
		s.LeaderVictimPct, s.CrashNewLeaderPct = 40, 0
		s.Clients += 6
		s.SafetyPhase += 6 * time.Second
		s.OpTimeout += time.Second
	}
	s.LivenessBound = 6 * s.ElectionTimeoutMax()
	return s
}

// newRand is the run's root source.
func newRand(seed uint64) *rand.Rand { return clock.NewRand(seed) }

// flowSwarm draws the byte bound of the replication pipeline: in a third
// of the seeds, 2-32 KiB in flight to each follower, so that the core's
// inflight byte accounting is exercised (mutation testing found it never
// was: a leader that never released bytes of acknowledged appends went
// unnoticed). Its own stream: other seeds run as before.
// segmentSwarm gives a quarter of the seeds WAL segments of 384-1284
// bytes, a handful of entries each, so that an uncommitted suffix a new
// leader truncates usually spans a segment boundary: the truncate record
// lands in a newer segment than the entries it removes, and the next
// segment can start at a lower index than the one before it. Replay must
// follow write order across such segments (plant 41 needed seed 876 with
// the 2-32 KiB segments alone). The size keeps its residue mod 3, which
// node.go keys ApplyBeforeLocalDurable off, so no other knob moves.
func (s *Swarm) segmentSwarm(r *rand.Rand) {
	if r.IntN(4) != 0 {
		return
	}
	s.SegmentBytes = 384 + 3*int64(r.IntN(301)) + s.SegmentBytes%3
}

func (s *Swarm) flowSwarm(r *rand.Rand) {
	if r.IntN(3) != 0 {
		return
	}
	s.MaxInflightBytes = []uint64{2 << 10, 8 << 10, 32 << 10}[r.IntN(3)]
}
