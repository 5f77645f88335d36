package swimsim

import (
	"fmt"
	"math/rand/v2"

	"github.com/agentd/agentd/swim"
)

// Force-leave (checker 7, leave; checker 9, table): during the fault
// phase, now and then, a running member force-leaves a crashed member
// that every running member holds dead at one incarnation (Consul's
// force-leave of a failed node). The forcer marks it left and spreads
// that; the others turn their failed entry into a left one (swim
// handleDead), and push-pull carries it to any the gossip missed, so
// checker 7 judges it as a graceful leaver: every table up at the end
// that still holds it holds it left; checker 9's event log wants a leave
// event wherever the table says left.
//
// Nothing else ever called ForceLeave, so the failed-to-left path of
// handleDead only ran when a leave message reached a member that had
// already declared the leaver dead: mutants that dropped its leave event
// or its state-change time (swim/mutants) survived. The agreement on one
// incarnation keeps the outcome certain: a left claim below an entry's
// incarnation is ignored, so a forcer holding a stale incarnation would
// leave the others failed, rightly.
//
// The schedule draws from its own stream (streamForceLeave), every two
// crash gaps on average, so the other schedules do not move.

// armForceLeave schedules the force-leaves of the fault phase.
func (nm *nemesis) armForceLeave() {
	if nm.sw.CrashEvery <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(nm.s.seed, streamForceLeave<<32))
	nm.everyFrom(r, 2*nm.sw.CrashEvery, func() { nm.forceLeave(r) })
}

// forceLeave force-leaves one crashed member that every running member
// holds dead at one incarnation, if any, from a random running member.
func (nm *nemesis) forceLeave(r *rand.Rand) {
	s := nm.s
	up := s.up()
	done := map[string]bool{}
	for _, x := range s.h.Left {
		done[x] = true
	}
	for _, x := range s.h.ForceLeft {
		done[x] = true
	}
	var cands []string
	for _, f := range crashes(&s.h) {
		if done[f.Member] {
			continue
		}
		agreed, inc := true, swim.Incarnation(0)
		for i, o := range up {
			got, st := incOf(o.node, f.Member)
			if st != swim.StateDead || (i > 0 && got != inc) {
				agreed = false
				break
			}
			inc = got
		}
		if agreed {
			cands = append(cands, f.Member)
		}
	}
	var forcers []*member
	for _, o := range up {
		if !o.leaving && !o.host.Paused() && !o.starved {
			forcers = append(forcers, o)
		}
	}
	if len(cands) == 0 || len(forcers) == 0 {
		return
	}
	x := cands[r.IntN(len(cands))]
	o := forcers[r.IntN(len(forcers))]
	if err := o.node.ForceLeave(o.now(), x); err != nil {
		s.violate(CheckDriver, fmt.Sprintf("%s: force-leave %s: %v", o.name, x, err))
		return
	}
	o.drain()
	s.h.ForceLeft = append(s.h.ForceLeft, x)
	nm.counts.ForceLeave++
	s.w.Tracef("nemesis %s force-leaves %s", o.name, x)
}
