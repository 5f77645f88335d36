package swimsim

import (
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/swim"
)

// Swarm is every random choice of a run made once, up front, from the
// seed: each seed explores a different corner (TigerBeetle's swarm
// testing).
type Swarm struct {
	Members int    // pool size, late joiners included
	Late    int    // members that join during the fault phase
	Preset  string // swim config preset: "lan" or "local"

	Net world.NetConfig // the base network profile

	FaultPhase time.Duration
	// Mean virtual time between injections of each fault kind (0: never).
	CrashEvery, PauseEvery, StarveEvery, PartitionEvery, LossEvery, TagsEvery time.Duration
	MaxCrashes                                                                int
	// Longest pause, starvation, partition, loss burst. Partitions and
	// pauses reach past the longest suspicion, so members are declared
	// dead and must come back.
	PauseMax, StarveMax, PartitionMax, LossMax time.Duration
	LossBurstPPM                               int // loss during a burst (may exceed 10%)
	// StaleWitness: each crash also pauses another member until the rest
	// have declared the crashed one dead and its own push-pull is due,
	// so that on resuming it offers a table in which the crashed member
	// is still alive at the incarnation it was declared dead at (checker
	// 1 must see such a stale claim ignored).
	StaleWitness bool
	// UserEventEvery: mean time between user events fired by a random
	// running member (0: none).
	UserEventEvery time.Duration
	// LeaveEvery: mean time between graceful leaves of a random running
	// member, which then shuts down (0: none). Leaves count toward
	// MaxCrashes.
	LeaveEvery time.Duration
	// PairCut: how long one pair of members is cut from each other in
	// the quiet phase after the liveness phase (0: no such phase); drawn
	// from a stream of its own (paircut.go).
	PairCut time.Duration
}

// presets by name.
var presets = map[string]func(string, string, *rand.Rand) swim.Config{
	"lan":   swim.LANConfig,
	"local": swim.LocalConfig,
	"wan":   swim.WANConfig,
}

// drawSwarm draws a swarm; members > 0 fixes the pool size and preset
// != "" the configuration.
func drawSwarm(seed uint64, members int, preset string) Swarm {
	r := rand.New(rand.NewPCG(seed, streamSwarm))
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo)+1)) }
	maybe := func(p float64, lo, hi time.Duration) time.Duration {
		if r.Float64() < p {
			return between(lo, hi)
		}
		return 0
	}
	sw := Swarm{Members: members, Preset: preset}
	if sw.Members == 0 {
		sw.Members = drawMembers(r)
	}
	if sw.Preset == "" {
		sw.Preset = "lan"
		if r.IntN(4) == 0 {
			sw.Preset = "local"
		}
	}
	if sw.Members > 3 {
		sw.Late = r.IntN(3 + sw.Members/20)
	}
	lossChoices := []int{0, 10_000, 50_000, 100_000}
	sw.Net = world.NetConfig{
		MinDelay: between(100*time.Microsecond, 2*time.Millisecond),
		LossPPM:  lossChoices[r.IntN(len(lossChoices))],
		DupPPM:   r.IntN(10_000),
	}
	sw.Net.MaxDelay = sw.Net.MinDelay + between(0, 10*time.Millisecond)
	if r.IntN(2) == 0 {
		sw.Net.ReorderPPM, sw.Net.ReorderDelay = 20_000, 50*time.Millisecond
	}
	sw.FaultPhase = between(60*time.Second, 180*time.Second)
	sw.CrashEvery = maybe(0.7, 20*time.Second, 90*time.Second)
	sw.MaxCrashes = max(1, (sw.Members-1)/3)
	sw.PauseEvery = maybe(0.5, 20*time.Second, 90*time.Second)
	sw.PauseMax = between(2*time.Second, 60*time.Second)
	sw.StarveEvery = maybe(0.5, 30*time.Second, 90*time.Second)
	sw.StarveMax = between(10*time.Second, 90*time.Second)
	sw.PartitionEvery = maybe(0.5, 30*time.Second, 90*time.Second)
	sw.PartitionMax = between(5*time.Second, 90*time.Second)
	sw.LossEvery = maybe(0.3, 20*time.Second, 60*time.Second)
	sw.LossMax = between(5*time.Second, 30*time.Second)
	sw.LossBurstPPM = 50_000 + r.IntN(250_000)
	sw.TagsEvery = maybe(0.8, 5*time.Second, 30*time.Second)
	sw.StaleWitness = r.IntN(2) == 0 // drawn after the others: earlier draws keep their seeds
	sw.UserEventEvery = maybe(0.7, time.Second, 10*time.Second)
	sw.LeaveEvery = maybe(0.4, 20*time.Second, 90*time.Second)
	sw.PairCut = drawPairCut(rand.New(rand.NewPCG(seed, streamPairCut)))
	return sw
}

// Pool sizes the swarm draws: mostly small pools, which are cheap and
// where interleavings are dense, and a tail up to MaxSwarmMembers, where
// log-scaled timeouts, retransmit counts, full-state push-pulls and
// large partitions behave differently.
const (
	MinSwarmMembers = 3
	MaxSwarmMembers = 200
)

// drawMembers draws a pool size: 70% in 3–10, 20% in 11–50, 7% in
// 51–120, 3% in 121–200.
func drawMembers(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 70:
		return MinSwarmMembers + r.IntN(8)
	case x < 90:
		return 11 + r.IntN(40)
	case x < 97:
		return 51 + r.IntN(70)
	}
	return 121 + r.IntN(MaxSwarmMembers-120)
}
