package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Quiet crash (checker 5, health): after the pair cut of the quiet phase
// (paircut.go), still at zero loss with every link up, one random member
// crashes, and for quietCrashWindow no member's Lifeguard awareness score
// may reach quietCrashMaxScore. A member whose probe of the crashed one
// fails has asked K relays, which nack it (Lifeguard §4.1): a failed probe
// with every nack back says the target is gone, not that we are slow, and
// costs nothing. Without nacks each such probe charges K at once. Checker
// 5 alone cannot see it: successes bring the score back to 0, and the
// detection bound allows probing at full awareness.
//
// The crash is not logged as a fault and the records are off meanwhile:
// the history's checkers judged the run at End, before the quiet phase,
// and the crashed member's death would read as a false one.
const (
	quietCrashWindow   = 20 * time.Second
	quietCrashPoll     = 250 * time.Millisecond
	quietCrashMaxScore = 2
)

// quietCrash runs the scenario; skip names members not to crash (the
// pair). It reports whether stop ended it.
func (nm *nemesis) quietCrash(r *rand.Rand, skip map[string]bool, stop func() bool) bool {
	s := nm.s
	var c []*member
	for _, m := range s.up() {
		if !skip[m.name] {
			c = append(c, m)
		}
	}
	if len(c) == 0 || len(s.up()) < s.h.K+3 {
		return false
	}
	x := c[r.IntN(len(c))]
	s.record = false
	x.crash()
	crashAt := s.w.Now()
	s.w.Tracef("nemesis quiet crash %s", x.name)
	worst, at, who := 0, time.Duration(0), ""
	aborted := s.runUntil(s.w.Now()+quietCrashWindow, quietCrashPoll, func() bool {
		for _, m := range s.up() {
			if h := m.node.Health(); h > worst {
				worst, at, who = h, s.w.Now(), m.name
			}
		}
		return stop != nil && stop()
	})
	if !aborted && worst >= quietCrashMaxScore {
		s.violate(CheckHealth, fmt.Sprintf("%s's awareness score reached %d at %v, %v after %s crashed in a quiet pool (relays nack the failed probes of a crashed member: they should cost nothing)",
			who, worst, at, at-crashAt, x.name))
	}
	return aborted
}
