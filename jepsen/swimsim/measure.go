package swimsim

import (
	"fmt"
	"math"
	"time"

	"github.com/agentd/agentd/swim"
)

// The measurements of the gossip goals (anchors G7–G9): each is one seed
// of a fault-free LAN pool with one controlled disturbance, watching the
// event stream through onEvent rather than recording it (so that pools
// of 1000 stay affordable).

// settle is how long a pool runs after bootstrapping before a
// measurement starts, so join traffic has died down.
const settle = 10 * time.Second

func measuredPool(seed uint64, n int, tweak func(*swim.Config)) (*sim, error) {
	s := newSim(seed, swim.LANConfig)
	s.tweak = tweak
	s.record = false
	for range n {
		s.add()
	}
	if !s.bootstrap(n, 10*time.Minute) {
		return nil, fmt.Errorf("swimsim: seed %d: %d members did not converge", seed, n)
	}
	s.w.RunUntil(s.w.Now()+settle, nil)
	return s, nil
}

// Detection is one crash's detection timeline, from the crash.
type Detection struct {
	// FirstSuspect is when the first member suspected the victim: the
	// wait for a probe of it plus that probe's period.
	FirstSuspect time.Duration
	// FirstDead is the first death declaration: FirstSuspect plus the
	// suspicion (Lifeguard: until k confirmations and min, §4.2).
	FirstDead time.Duration
	// All is when the last member declared it dead: FirstDead plus the
	// dead message's dissemination.
	All time.Duration
}

// MeasureDetection crashes one random member of an n-member LAN pool
// under the given datagram loss (set after bootstrap) and returns the time
// until every other member has declared it dead, with its parts.
func MeasureDetection(seed uint64, n, lossPPM int) (Detection, error) {
	s, err := measuredPool(seed, n, nil)
	if err != nil {
		return Detection{}, err
	}
	c := s.w.Net.Config()
	c.LossPPM = lossPPM
	s.w.Net.SetConfig(c)
	victim := s.members[1+s.rNem.IntN(n-1)]
	declared := map[string]bool{}
	tc := s.w.Now()
	var d Detection
	s.onEvent = func(m *member, e swim.Event) {
		if e.Member.Name != victim.name {
			return
		}
		switch e.Type {
		case swim.EventSuspect:
			if d.FirstSuspect == 0 {
				d.FirstSuspect = s.w.Now() - tc
			}
		case swim.EventFail, swim.EventLeave:
			if len(declared) == 0 {
				d.FirstDead = s.w.Now() - tc
			}
			declared[m.name] = true
		}
	}
	victim.crash()
	bound := DetectBound(s.config(0, "x", "x"), n)
	if !s.runUntil(tc+bound, 10*time.Millisecond, func() bool { return len(declared) == n-1 }) {
		return Detection{}, fmt.Errorf("swimsim: seed %d: %d of %d members declared the crash within %v", seed, len(declared), n-1, bound)
	}
	d.All = s.w.Now() - tc
	return d, nil
}

// MeasureDissemination sets new tags on one random member of an n-member
// LAN pool under the given datagram loss, and returns the time until
// 99.9% of the other members have the update.
func MeasureDissemination(seed uint64, n, lossPPM int) (time.Duration, error) {
	s, err := measuredPool(seed, n, nil)
	if err != nil {
		return 0, err
	}
	c := s.w.Net.Config()
	c.LossPPM = lossPPM
	s.w.Net.SetConfig(c)
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
	if !s.runUntil(t0+time.Minute, 10*time.Millisecond, func() bool { return len(got) >= need }) {
		return 0, fmt.Errorf("swimsim: seed %d: %d of %d members had the update after a minute", seed, len(got), n-1)
	}
	return s.w.Now() - t0, nil
}

// FalsePositives is what one false-positive measurement saw.
type FalsePositives struct {
	// Suspicions of healthy members (all but the starved one), counted
	// per suspecting member.
	Suspicions int
	// Deaths of healthy members declared by healthy members, and by the
	// starved one.
	Deaths, DeathsByStarved int
	// StarvedSuspected and StarvedDeclared count the same about the
	// starved member (allowed).
	StarvedSuspected, StarvedDeclared int
}

// MeasureFalsePositives runs an n-member LAN pool for d under the given
// loss with its last member starved throughout, with Lifeguard on or
// off, and counts suspicions and death declarations.
func MeasureFalsePositives(seed uint64, n, lossPPM int, d time.Duration, lifeguard bool) (FalsePositives, error) {
	s, err := measuredPool(seed, n, func(c *swim.Config) { c.DisableLifeguard = !lifeguard })
	if err != nil {
		return FalsePositives{}, err
	}
	c := s.w.Net.Config()
	c.LossPPM = lossPPM
	s.w.Net.SetConfig(c)
	starved := s.members[n-1]
	starved.starved = true
	var fp FalsePositives
	s.onEvent = func(o *member, e swim.Event) {
		subjStarved := e.Member.Name == starved.name
		switch {
		case e.Type == swim.EventSuspect && subjStarved:
			fp.StarvedSuspected++
		case e.Type == swim.EventSuspect:
			fp.Suspicions++
		case e.Type == swim.EventFail && subjStarved:
			fp.StarvedDeclared++
		case e.Type == swim.EventFail && o == starved:
			fp.DeathsByStarved++
		case e.Type == swim.EventFail:
			fp.Deaths++
		}
	}
	s.w.RunUntil(s.w.Now()+d, nil)
	return fp, nil
}
