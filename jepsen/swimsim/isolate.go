package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/swim"
)

// Quiet isolation (checker 5, health): after the quiet crash, still at
// zero loss, one member whose Lifeguard awareness score is 0 is cut from
// every other member (datagrams and streams, both ways) for two probe
// periods and a quarter. Each probe it starts then fails with no ack and
// none of the nacks it asked the relays for, so Lifeguard (§4.1) must
// raise its score: by the missing nacks, or by one when no relay was
// asked; at the end of the cut the score must be at least 1.
//
// The rest of checker 5 only ever sees a score come down (back at 0 in
// the liveness phase, below 2 during the quiet crash): a core whose
// score never rose, so that a member cut off from the pool kept probing
// and accusing at full speed (Lifeguard's local health switched off),
// passed every checker (mutants swim/awareness.go a.score never set, and
// awareness.off negated).
//
// The cut is shorter than any suspicion (the minimum is SuspicionMult ≥
// 3 probe periods beyond the failed probe), so no one can declare the
// member dead over it; the phase then waits, at most an accusation
// window, for every member up to hold it alive again, so that the
// restart phase after it starts from a converged pool. Records are off
// (quietcrash.go).
const isolatePoll = 250 * time.Millisecond

// isolateWindow is the cut: a probe started at most one period after
// the cut fails one period later; the quarter is slack for the tick.
func isolateWindow(cfg swim.Config) time.Duration {
	return 2*cfg.ProbeInterval + cfg.ProbeInterval/4
}

// quietIsolate runs the scenario; it reports whether stop ended it.
func (nm *nemesis) quietIsolate(r *rand.Rand, stop func() bool) (aborted bool) {
	s := nm.s
	up := s.up()
	var c []*member
	for _, m := range up {
		if !m.leaving && m.node.Health() == 0 {
			c = append(c, m)
		}
	}
	cfg := s.config(0, "x", "x")
	if len(up) < 3 || len(c) == 0 || cfg.DisableLifeguard {
		return false
	}
	y := c[r.IntN(len(c))]
	block := func(on bool) {
		for _, o := range s.members {
			if o == y {
				continue
			}
			a, b := y.host.Addr(), o.host.Addr()
			if on {
				s.w.Net.BlockBoth(a, b)
			} else {
				s.w.Net.Unblock(a, b)
				s.w.Net.Unblock(b, a)
			}
		}
	}
	block(true)
	cutAt := s.w.Now()
	s.w.Tracef("nemesis quiet isolation of %s", y.name)
	nm.counts.Isolate++
	d := isolateWindow(cfg)
	if s.runUntil(cutAt+d, isolatePoll, func() bool { return stop != nil && stop() }) {
		block(false)
		return true
	}
	score := -1
	if y.node != nil {
		score = y.node.Health()
	}
	block(false)
	if score == 0 {
		s.violate(CheckHealth, fmt.Sprintf("%s, cut off from every member at zero loss for %v from %v, still has awareness score 0: its failed probes got no nack, which must raise it (Lifeguard §4.1)",
			y.name, d, cutAt))
	}
	s.w.Tracef("nemesis quiet isolation of %s healed (score %d)", y.name, score)
	return s.runUntil(s.w.Now()+s.h.AccuseWindow, isolatePoll, func() bool {
		if stop != nil && stop() {
			return true
		}
		for _, o := range s.up() {
			if _, st := incOf(o.node, y.name); o != y && st != swim.StateAlive {
				return false
			}
		}
		return true
	}) && stop != nil && stop()
}
