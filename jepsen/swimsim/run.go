package swimsim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/swim"
)

// Options selects one run.
type Options struct {
	Seed    uint64
	Members int    // pool size; 0 draws 3..200 (drawMembers)
	Preset  string // "lan", "local", "wan"; "" draws lan or local
	// Trace, if set, receives one line per member event and fault.
	Trace io.Writer
	// Log, if set, receives a few progress lines.
	Log io.Writer
	// Tweak, if set, edits every member's swim.Config after the preset.
	Tweak func(*swim.Config)
	// Stop, if set, is polled each simulated second of the liveness
	// phase; once it returns true the run ends there, unchecked
	// (Result.Aborted): a campaign that already failed stops early.
	Stop func() bool
}

// Result is what one run found.
type Result struct {
	Seed    uint64
	Swarm   Swarm
	Virtual time.Duration // simulated time
	Steps   uint64        // world events run
	Faults  FaultCounts
	// Detection is, per crash, the time until every live member healthy
	// at the crash had declared it dead.
	Detection []time.Duration
	// Dissemination is, per join or tag update, the time until 99.9% of
	// the live members knew it.
	Dissemination []time.Duration
	Deaths        DeathCounts // death declarations of members that had not crashed
	Suspicions    int         // suspicions of members that had not crashed
	// PairCutsJudged counts the pair cuts quiet enough for checker 8
	// (of Faults.PairCut run).
	PairCutsJudged int
	// QuietLeaves counts the leaves quiet enough for checker 7 to want
	// them heard (of Faults.Leave run).
	QuietLeaves int
	// Rejoin is how long after its restart a restarted member was alive
	// in every live table (-1: none restarted, or not within the bound).
	Rejoin time.Duration
	// Converged is how long after the final heal the views agreed (-1:
	// not within the liveness phase).
	Converged  time.Duration
	Violations []Violation
	History    *History
	// Aborted: Options.Stop ended the run before its checks.
	Aborted bool
}

// ReplayCommand is the command line that reruns one seed.
func ReplayCommand(o Options) string {
	cmd := fmt.Sprintf("go run ./cmd/swimsim -seed %d", o.Seed)
	if o.Members > 0 {
		cmd += fmt.Sprintf(" -members %d", o.Members)
	}
	if o.Preset != "" {
		cmd += " -preset " + o.Preset
	}
	return cmd + " -v"
}

// bootstrapLimit bounds the initial join of the pool.
const bootstrapLimit = 2 * time.Minute

// Run runs one seed: bootstrap, a fault phase, a heal, then a liveness
// phase long enough for checker 1's bound, in some seeds a quiet phase
// with one cut pair of members (paircut.go); then the checkers.
func Run(o Options) Result {
	sw := drawSwarm(o.Seed, o.Members, o.Preset)
	s := newSim(o.Seed, presets[sw.Preset])
	s.tweak = o.Tweak
	if o.Trace != nil {
		s.w.SetTrace(o.Trace)
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "%12v  ", s.w.Now())
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	cfg := s.config(0, "x", "x")
	s.h.K = cfg.IndirectChecks
	s.h.DetectBound = DetectBound(cfg, sw.Members)
	s.h.AccuseWindow = AccuseWindow(cfg, sw.Members)
	for range sw.Members {
		s.add()
	}
	initial := sw.Members - sw.Late
	nm := newNemesis(s, sw, 0, initial)
	logf("swarm %+v", sw)
	if !s.bootstrap(initial, bootstrapLimit) {
		s.violate(CheckReach, fmt.Sprintf("the %d initial members did not all see each other within %v", initial, bootstrapLimit))
	}
	logf("bootstrapped %d members", initial)

	nm.end = s.w.Now() + sw.FaultPhase
	nm.arm()
	s.w.RunUntil(nm.end, nil)
	s.w.RunUntil(nm.end, nil) // the heal event itself
	logf("healed; faults %+v", nm.counts)

	// Liveness: see livenessPhase.
	converged := time.Duration(-1)
	minLive, maxLive, tail := livenessPhase(&s.h)
	aborted := false
	aw := newAwarenessWatch()
	aw.sample(s)
	s.runUntil(s.w.Now()+maxLive, time.Second, func() bool {
		if o.Stop != nil && o.Stop() {
			aborted = true
			return true
		}
		aw.sample(s)
		if converged < 0 && len(checkConvergeNow(s)) == 0 {
			converged = s.w.Now() - s.h.HealAt
		}
		since := s.w.Now() - s.h.HealAt
		return converged >= 0 && since >= minLive && since >= converged+tail
	})
	if aborted {
		logf("aborted")
		return Result{Seed: o.Seed, Swarm: sw, Virtual: s.w.Now(), Steps: s.w.Steps(), Faults: nm.counts, Aborted: true}
	}
	s.finish()
	logf("end; converged %v after the heal", converged)
	if sw.PairCut > 0 && converged >= 0 {
		ran, stopped := nm.pairCutPhase(rand.New(rand.NewPCG(o.Seed, streamPairCut<<32)), sw.PairCut, o.Stop)
		if stopped {
			logf("aborted")
			return Result{Seed: o.Seed, Swarm: sw, Virtual: s.w.Now(), Steps: s.w.Steps(), Faults: nm.counts, Aborted: true}
		}
		if ran {
			logf("pair cut %v ended", s.h.PairCuts[len(s.h.PairCuts)-1])
		}
	}
	if converged >= 0 {
		if nm.restartPhase(rand.New(rand.NewPCG(o.Seed, streamRestart<<32)), o.Stop) {
			logf("aborted")
			return Result{Seed: o.Seed, Swarm: sw, Virtual: s.w.Now(), Steps: s.w.Steps(), Faults: nm.counts, Aborted: true}
		}
	}

	h := &s.h
	r := Result{
		Seed:           o.Seed,
		Swarm:          sw,
		Virtual:        s.w.Now(),
		Steps:          s.w.Steps(),
		Faults:         nm.counts,
		Detection:      DetectionLatencies(h),
		Dissemination:  Dissemination(h),
		Deaths:         FalseDeaths(h),
		Suspicions:     falseSuspicions(h),
		PairCutsJudged: judgedPairCuts(h),
		QuietLeaves:    len(h.QuietLeaves),
		Rejoin:         nm.restartSeen,
		Converged:      converged,
		History:        h,
	}
	r.Violations = append(s.violations, Check(h)...)
	health := map[string]int{}
	for _, m := range s.up() {
		health[m.name] = m.node.Health()
	}
	r.Violations = append(r.Violations, aw.check(h.upAtEnd(), health, h.HealAt, h.End)...)
	for _, v := range r.Violations {
		logf("VIOLATION %s", v)
	}
	return r
}

// livenessPhase sizes the phase after the heal. At most it lasts
// DetectBound + 1 min: long enough for checker 1's bound on a crash at
// the very end of the fault phase. That bound grows with n (about 54 min
// at n = 200), so the phase ends earlier once the views have converged
// (every crashed member is then out of every live view, which is what the
// bound asks) and stayed so for tail, an accusation window or a minute,
// whichever is longer: long enough for a late false accusation to ripen
// into a death declaration that checkers 2 and 4 see. It never ends
// before minLive = min(DetectBound, 3 min) + 1 min, so pools of up to 10
// members keep the full phase.
func livenessPhase(h *History) (minLive, maxLive, tail time.Duration) {
	return min(h.DetectBound, 3*time.Minute) + time.Minute, h.DetectBound + time.Minute, max(h.AccuseWindow, time.Minute)
}

// checkConvergeNow runs checker 4 on the pool's current tables.
func checkConvergeNow(s *sim) []Violation {
	h := s.h // a shallow copy: snapshot replaces only Final and Self
	s.snapshot(&h)
	return append(checkConverge(&h), checkLeave(&h)...)
}

// falseSuspicions counts suspicion events about members that had not
// crashed at the time.
func falseSuspicions(h *History) int {
	n := 0
	for _, r := range h.Records {
		if r.Type == swim.EventSuspect && h.crashedAt(r.Subject) > r.At {
			n++
		}
	}
	return n
}
