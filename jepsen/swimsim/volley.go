package swimsim

import (
	"fmt"
	"math/rand/v2"
)

// The volley (checker 6, events): at the end of the quiet phase, still
// at zero loss, one member fires volleySize user events at one instant:
// several datagrams' worth, so its broadcast queue hands them out over
// many gossip packets. Each event must reach at least one member besides
// its origin within an accusation window. User events have no
// anti-entropy, so an update the queue loses is gone for good: a queue
// that dropped whatever did not fit in the packet being filled, or the
// untaken updates while merging the taken ones back (swim/mutants: both
// survived every checker; membership updates are repaired by push-pull,
// and the burst sends one event per member, which always fits).
//
// It waits GossipToTheDeadTime first, so that no gossip goes to the
// member the quiet crash took down: every packet of the volley reaches a
// running member.
const (
	volleySize      = 100
	volleyEventName = "volley"
)

// volley runs the scenario; it reports whether stop ended it.
func (nm *nemesis) volley(r *rand.Rand, stop func() bool) (aborted bool) {
	s := nm.s
	cfg := s.config(0, "x", "x")
	cond := func() bool { return stop != nil && stop() }
	if s.runUntil(s.w.Now()+cfg.GossipToTheDeadTime, isolatePoll, cond) {
		return true
	}
	var c []*member
	for _, m := range s.up() {
		if !m.leaving {
			c = append(c, m)
		}
	}
	if len(c) < 2 {
		return false
	}
	x := c[r.IntN(len(c))]
	var payloads []string
	for i := range volleySize {
		p := fmt.Sprintf("%s/volley/%d", x.name, i)
		s.events.fireAs(x, volleyEventName, p)
		payloads = append(payloads, p)
	}
	nm.counts.Volley++
	s.w.Tracef("nemesis volley of %d user events from %s", volleySize, x.name)
	if s.runUntil(s.w.Now()+s.h.AccuseWindow, isolatePoll, cond) {
		return true
	}
	lost := 0
	for _, p := range payloads {
		reached := false
		for _, m := range s.up() {
			reached = reached || (m != x && s.events.seen[m.name][p])
		}
		if !reached {
			lost++
		}
	}
	if lost > 0 {
		s.violate(CheckEvents, fmt.Sprintf("%d of the %d user events %s fired at once at zero loss reached no other member within %v",
			lost, volleySize, x.name, s.h.AccuseWindow))
	}
	return false
}
