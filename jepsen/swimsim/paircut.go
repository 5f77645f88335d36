package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/swim"
)

// Pair cut (checker 8, indirect): a non-transitive link failure. Two
// members cannot reach each other at all (datagrams and streams, both
// directions) while every other link works. Each one's direct ping of the
// other and the stream fallback then fail, and only the ping-req relays
// (SWIM §3.1) reach the target: with them working, neither member ever
// suspects the other. The other faults never cut a single link (a
// partition cuts a group from everyone else), and the stream fallback
// acks every live target over the world's lossless streams, so without
// this scenario a relay that forwards acks wrongly went unnoticed (the
// target's refutation keeps every other checker green: the bug only adds
// suspicions).
//
// The scenario runs in a quiet phase of its own after the liveness phase
// (the views have converged, every fault is healed): the network's loss
// drops to 0 for a lead-in of one AccuseWindow, so every probe and
// suspicion begun under loss has ended, then one random pair is cut for
// Swarm.PairCut, then the loss comes back. It draws from its own stream
// (streamPairCut), so the other schedules do not move.

// PairCut is one cut link between members A and B over its interval.
type PairCut struct {
	Interval
	A, B string
}

// Pair cuts are drawn in this share of seeds, 30–120 s long.
const (
	pairCutShare           = 0.5
	minPairCut, maxPairCut = 30 * time.Second, 120 * time.Second
)

// drawPairCut draws the window's length (0: no pair cut this seed).
func drawPairCut(r *rand.Rand) time.Duration {
	if r.Float64() >= pairCutShare {
		return 0
	}
	return minPairCut + time.Duration(r.Int64N(int64(maxPairCut-minPairCut)+1))
}

// pairCutPhase runs the quiet phase of a converged pool: the lead-in at
// zero loss, then the cut of a random pair for d. It is skipped (false)
// when fewer than K+2 members are up: each member of the pair needs K
// relays besides the two. aborted reports that stop ended it early.
func (nm *nemesis) pairCutPhase(r *rand.Rand, d time.Duration, stop func() bool) (ran, aborted bool) {
	s := nm.s
	up := s.up()
	if len(up) < s.h.K+2 {
		return false, false
	}
	run := func(until time.Duration) bool {
		return s.runUntil(until, time.Second, func() bool { return stop != nil && stop() })
	}
	nm.setLoss(0)
	s.w.Tracef("nemesis quiet for %v before the pair cut; user event burst", s.h.AccuseWindow)
	// The probe window (checker 10) runs from half-way through the
	// lead-in to the cut's end; probes are logged from the lead-in on.
	pw := ProbeWindow{Interval: Interval{s.w.Now() + s.h.AccuseWindow/2, Forever}, N: map[string]int{}}
	s.probeWatch = true
	defer func() { s.probeWatch = false }()
	pw.sample(s)
	burst := s.events.burst(up)
	if run(s.w.Now() + s.h.AccuseWindow) {
		return true, true
	}
	pw.sample(s)
	s.events.burstCheck(burst, up, s.h.AccuseWindow)
	i := r.IntN(len(up))
	j := r.IntN(len(up) - 1)
	if j >= i {
		j++
	}
	a, b := up[i], up[j]
	s.w.Net.BlockBoth(a.host.Addr(), b.host.Addr())
	k := len(s.h.PairCuts)
	s.h.PairCuts = append(s.h.PairCuts, PairCut{Interval{s.w.Now(), Forever}, a.name, b.name})
	nm.counts.PairCut++
	s.w.Tracef("nemesis pair cut %s-%s for %v", a.name, b.name, d)
	aborted = run(s.w.Now() + d)
	s.w.Net.Unblock(a.host.Addr(), b.host.Addr())
	s.w.Net.Unblock(b.host.Addr(), a.host.Addr())
	s.h.PairCuts[k].End = s.w.Now()
	s.probeWatch = false
	if !aborted {
		pw.sample(s)
		pw.End = s.w.Now()
		s.h.ProbeWindows = append(s.h.ProbeWindows, pw)
	}
	if !aborted {
		aborted = nm.quietCrash(r, map[string]bool{a.name: true, b.name: true}, stop)
	}
	if !aborted {
		aborted = nm.quietIsolate(r, stop)
	}
	if !aborted {
		aborted = nm.volley(r, stop)
	}
	nm.setLoss(nm.sw.Net.LossPPM)
	s.w.Tracef("nemesis pair cut healed")
	return true, aborted
}

// checkIndirect (checker 8) judges each quiet pair cut: neither member of
// the pair suspects (or declares dead) the other during the cut. A cut is
// judged only if quiet (pairCutQuiet); a suspicion of an accusation that
// began before the cut (same subject and incarnation) is a leftover, not
// the cut's doing.
func checkIndirect(h *History, tl map[pair][]Record) []Violation {
	if len(h.PairCuts) == 0 {
		return nil
	}
	began := map[accusationKey]time.Duration{}
	for _, a := range accusations(h) {
		began[accusationKey{a.subject, a.inc}] = a.recs[0].At
	}
	var out []Violation
	for _, c := range h.PairCuts {
		if !h.pairCutQuiet(c, tl) {
			continue
		}
		var bad []Record
		for _, p := range []pair{{c.A, c.B}, {c.B, c.A}} {
			for _, r := range tl[p] {
				if r.At < c.Start || r.At > c.End || (r.Type != swim.EventSuspect && r.Type != swim.EventFail) {
					continue
				}
				if began[accusationKey{r.Subject, r.Inc}] < c.Start {
					continue
				}
				bad = append(bad, r)
			}
		}
		if len(bad) > 0 {
			r := bad[0]
			out = append(out, Violation{CheckIndirect, r.At, fmt.Sprintf(
				"%s %s %s (inc %d) across the cut link %s-%s [%v, %v] that the ping-req relays bridge (%d such records)",
				r.Observer, map[bool]string{true: "suspected", false: "declared dead"}[r.Type == swim.EventSuspect],
				r.Subject, r.Inc, c.A, c.B, c.Start, c.End, len(bad))})
		}
		out = append(out, quietSuspicions(h, c, began)...)
	}
	return out
}

// quietSuspicions judges the rest of a quiet pair cut's window: from
// half-way through the lead-in (every probe begun under loss has long
// ended) to the cut's end, every link but the pair's works at zero loss
// with no other fault, so no member may accuse a running one in an
// accusation that began then (the pair's accusations of each other are
// judged above). The lead-in begins with the user-event burst, which
// fills every broadcast queue: a core that sent a ping without the
// updates piggybacked on it, or the updates without the ping, failed
// probes of healthy members there and nowhere else (swim/mutants).
func quietSuspicions(h *History, c PairCut, began map[accusationKey]time.Duration) []Violation {
	from := c.Start - h.AccuseWindow/2
	var bad []Record
	for _, r := range h.Records {
		if r.At < from || r.At > c.End || (r.Type != swim.EventSuspect && r.Type != swim.EventFail) {
			continue
		}
		if h.crashedAt(r.Subject) <= r.At || began[accusationKey{r.Subject, r.Inc}] < from {
			continue
		}
		if (r.Observer == c.A && r.Subject == c.B) || (r.Observer == c.B && r.Subject == c.A) {
			continue
		}
		bad = append(bad, r)
	}
	if len(bad) == 0 {
		return nil
	}
	r := bad[0]
	return []Violation{{CheckIndirect, r.At, fmt.Sprintf(
		"%s %s running %s (inc %d) at %v, in the quiet window [%v, %v] at zero loss with every link but %s-%s up (%d such records)",
		r.Observer, map[bool]string{true: "suspected", false: "declared dead"}[r.Type == swim.EventSuspect],
		r.Subject, r.Inc, r.At, from, c.End, c.A, c.B, len(bad))}}
}

// judgedPairCuts counts the pair cuts checker 8 judges: a phase that
// schedules cuts the checker then skips would test nothing.
func judgedPairCuts(h *History) int {
	if len(h.PairCuts) == 0 {
		return 0
	}
	tl := h.timelines()
	n := 0
	for _, c := range h.PairCuts {
		if h.pairCutQuiet(c, tl) {
			n++
		}
	}
	return n
}

type accusationKey struct {
	subject string
	inc     swim.Incarnation
}

// pairCutQuiet reports whether cut c can be judged: over [c.Start −
// AccuseWindow, c.End] (the lead-in and the cut) nothing else went wrong
// (no pause, starvation, partition, crash, nor any datagram loss), both
// members ran throughout, at least K+2 members were up (K relays for
// each of the pair), and at the cut's start neither member still counted
// a crashed member live (it could pick it as a relay).
func (h *History) pairCutQuiet(c PairCut, tl map[pair][]Record) bool {
	from, to := max(c.Start-h.AccuseWindow, 0), c.End
	for _, f := range h.Faults {
		if f.Kind == FaultCrash && f.Start < from {
			continue // judged below, by the pair's views
		}
		if f.overlaps(from, to) {
			return false
		}
	}
	for _, p := range h.Partitions {
		if p.overlaps(from, to) {
			return false
		}
	}
	for _, l := range h.Loss {
		// The loss comes back at c.End: a period starting then is after.
		if l.LossPPM > 0 && l.Start < to && l.End > from {
			return false
		}
	}
	for _, m := range []string{c.A, c.B} {
		if h.startedAt(m) > from || h.crashedAt(m) <= to {
			return false
		}
	}
	if len(h.upOver(from, to)) < h.K+2 {
		return false
	}
	for _, f := range crashes(h) {
		for _, o := range []string{c.A, c.B} {
			if liveAt(tl[pair{o, f.Member}], c.Start) {
				return false
			}
		}
	}
	return true
}
