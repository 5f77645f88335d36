package swimsim

import (
	"fmt"
	"math"
	"time"

	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/swim"
)

// The report's measurements (cmd/swimsim -report): one trial is one
// fault-free LAN pool under a fixed datagram loss, put through, in order,
//
//  1. a quiet period: false suspicions and deaths (every member is
//     healthy, so every one is false) and traffic per member;
//  2. one tag update: time until 99.9% of the others have it;
//  3. one crash: time until every other member declares it dead;
//  4. a join storm: Storm new members join at the same instant, each
//     through one random member: per joiner, time until 99.9% of the
//     others know it.
//
// The same seed is also run with Lifeguard off, for the bootstrap and
// stage 1 only, so false positives are compared on the same seeds.

// ReportNet is the report's network: LAN delays, loss set per cell.
var ReportNet = world.NetConfig{MinDelay: 200 * time.Microsecond, MaxDelay: 2 * time.Millisecond}

// FalseCounts counts false accusations over a quiet period. An
// accusation is one (member, incarnation) suspected or declared dead:
// the member's refutation raises its incarnation, so a later accusation
// is a new one. Every member hearing of it is not counted again.
type FalseCounts struct {
	Suspicions, Deaths int
	MemberHours        float64 // members × the period
}

// PerMemberHour returns suspicions and deaths per member-hour.
func (f FalseCounts) PerMemberHour() (susp, deaths float64) {
	if f.MemberHours == 0 {
		return 0, 0
	}
	return float64(f.Suspicions) / f.MemberHours, float64(f.Deaths) / f.MemberHours
}

// Add sums counts.
func (f *FalseCounts) Add(o FalseCounts) {
	f.Suspicions += o.Suspicions
	f.Deaths += o.Deaths
	f.MemberHours += o.MemberHours
}

// Trial is what one report trial measured.
type Trial struct {
	Update, Detect time.Duration   // stages 2 and 3 (-1: not reached)
	Storm          []time.Duration // stage 4, per joiner that reached 99.9%
	StormMissed    int             // joiners that did not within the limit
	FPOn, FPOff    FalseCounts
	Rate           Rate // stage 1 traffic per member, Lifeguard on
	Errors         []string
}

// Stage limits: a stage that has not finished by then is reported.
const (
	updateLimit = time.Minute
	stormLimit  = 2 * time.Minute
	stormSettle = 5 * time.Second // quiet after the update and the crash
)

// reportPool bootstraps an n-member LAN pool without loss, lets it
// settle, then sets the loss.
func reportPool(seed uint64, n, lossPPM int, lifeguard bool) (*sim, error) {
	s := newSim(seed, swim.LANConfig)
	s.tweak = func(c *swim.Config) { c.DisableLifeguard = !lifeguard }
	s.record = false
	s.w.Net.SetConfig(ReportNet)
	for range n {
		s.add()
	}
	if !s.bootstrap(n, 10*time.Minute) {
		return nil, fmt.Errorf("swimsim: seed %d: %d members did not converge", seed, n)
	}
	s.w.RunUntil(s.w.Now()+settle, nil)
	c := ReportNet
	c.LossPPM = lossPPM
	s.w.Net.SetConfig(c)
	return s, nil
}

// quiet runs the pool for d, counting false accusations.
func quiet(s *sim, d time.Duration) FalseCounts {
	type acc struct {
		name string
		inc  swim.Incarnation
	}
	susp, dead := map[acc]bool{}, map[acc]bool{}
	s.onEvent = func(_ *member, e swim.Event) {
		k := acc{e.Member.Name, e.Member.Incarnation}
		switch e.Type {
		case swim.EventSuspect:
			susp[k] = true
		case swim.EventFail:
			dead[k] = true
		}
	}
	s.w.RunUntil(s.w.Now()+d, nil)
	s.onEvent = nil
	return FalseCounts{Suspicions: len(susp), Deaths: len(dead), MemberHours: float64(len(s.up())) * d.Hours()}
}

// RunTrial runs one report trial: n members, lossPPM loss, a quiet
// period q, a join storm of storm members.
func RunTrial(seed uint64, n, lossPPM int, q time.Duration, storm int) Trial {
	t := Trial{Update: -1, Detect: -1}
	fail := func(format string, args ...any) {
		t.Errors = append(t.Errors, fmt.Sprintf("seed %d n %d loss %d ppm: ", seed, n, lossPPM)+fmt.Sprintf(format, args...))
	}
	off, err := reportPool(seed, n, lossPPM, false)
	if err != nil {
		fail("%v", err)
		return t
	}
	t.FPOff = quiet(off, q)

	s, err := reportPool(seed, n, lossPPM, true)
	if err != nil {
		fail("%v", err)
		return t
	}
	v0, tr := s.w.Now(), s.traffic
	t.FPOn = quiet(s, q)
	t.Rate = s.traffic.sub(tr).rate(n, s.w.Now()-v0)

	// 2. One tag update.
	m := s.members[s.rNem.IntN(n)]
	want := swim.Incarnation(0)
	got := map[string]bool{}
	s.onEvent = func(o *member, e swim.Event) {
		if e.Member.Name == m.name && e.Type == swim.EventUpdate && e.Member.Incarnation >= want {
			got[o.name] = true
		}
	}
	t0 := s.w.Now()
	s.setTags(m)
	want = m.node.LocalMember().Incarnation
	need := int(math.Ceil(0.999 * float64(n-1)))
	if s.runUntil(t0+updateLimit, 10*time.Millisecond, func() bool { return len(got) >= need }) {
		t.Update = s.w.Now() - t0
	} else {
		fail("update reached %d of %d members in %v", len(got), n-1, updateLimit)
	}
	s.w.RunUntil(s.w.Now()+stormSettle, nil)

	// 3. One crash.
	victim := s.members[s.rNem.IntN(n)]
	declared := map[string]bool{}
	s.onEvent = func(o *member, e swim.Event) {
		if e.Member.Name == victim.name && (e.Type == swim.EventFail || e.Type == swim.EventLeave) {
			declared[o.name] = true
		}
	}
	tc := s.w.Now()
	victim.crash()
	bound := min(DetectBound(s.config(0, "x", "x"), n), 10*time.Minute)
	if s.runUntil(tc+bound, 10*time.Millisecond, func() bool { return len(declared) >= n-1 }) {
		t.Detect = s.w.Now() - tc
	} else {
		fail("crash declared by %d of %d members in %v", len(declared), n-1, bound)
	}
	s.w.RunUntil(s.w.Now()+stormSettle, nil)

	// 4. A join storm.
	if storm > 0 {
		t.Storm, t.StormMissed = joinStorm(s, storm)
	}
	s.onEvent = nil
	return t
}

// joinStorm starts k new members at once, each joining one random
// running member, and returns per joiner the time until 99.9% of the
// other running members knew it, and how many never got there within
// stormLimit.
func joinStorm(s *sim, k int) ([]time.Duration, int) {
	up := s.up()
	var joiners []*member
	for range k {
		joiners = append(joiners, s.add())
	}
	isJoiner := map[string]int{}
	for i, j := range joiners {
		isJoiner[j.name] = i
	}
	known := make([]map[string]bool, k)
	for i := range known {
		known[i] = map[string]bool{}
	}
	s.onEvent = func(o *member, e swim.Event) {
		if i, ok := isJoiner[e.Member.Name]; ok && o.name != e.Member.Name && (e.Type == swim.EventJoin || e.Type == swim.EventUpdate) {
			known[i][o.name] = true
		}
	}
	t0 := s.w.Now()
	for _, j := range joiners {
		s.start(j, []*member{up[s.rNem.IntN(len(up))]})
	}
	need := int(math.Ceil(0.999 * float64(len(up)+k-1)))
	reached := make([]time.Duration, k)
	left := k
	s.runUntil(t0+stormLimit, 10*time.Millisecond, func() bool {
		for i := range joiners {
			if reached[i] == 0 && len(known[i]) >= need {
				reached[i] = s.w.Now() - t0
				left--
			}
		}
		return left == 0
	})
	var out []time.Duration
	for _, d := range reached {
		if d > 0 {
			out = append(out, d)
		}
	}
	return out, left
}
