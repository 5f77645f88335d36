package swimsim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/agentd/agentd/swim"
)

// DetectionFloor is the time from a crash until the crashed member is
// declared dead, in a model of the probe and suspicion schedule alone:
// SWIM's round-robin probing (a fresh shuffle per round, SWIM §4.3) and
// Lifeguard's dynamic suspicion timeout (§4.2) with memberlist's formulas,
// but with no network delay, no loss, no awareness, and every suspicion
// and confirmation known to every member the moment it is made. It is the
// floor under what memberlist with these settings can do, so the
// simulator's measured detection times can be compared with it: the
// difference is dissemination.
//
// The schedule, for each of the n−1 live members: its probe periods have
// a random phase; the crash finds it at a uniform position in its current
// round of n−1 targets; the victim's slot is uniform in this round if not
// yet passed, else in the next one. Its probe of the victim fails one
// period after it starts, and that is its first-hand accusation. The
// first accusation starts the suspicion at max; each later one is a
// confirmation; the member is declared dead when the timer for the
// confirmations so far has run out.
func DetectionFloor(cfg swim.Config, n int, r *rand.Rand) time.Duration {
	p := cfg.ProbeInterval
	targets := n - 1 // each member probes everyone but itself
	accused := make([]time.Duration, 0, n-1)
	for range n - 1 {
		phase := time.Duration(r.Int64N(int64(p)))
		pos := r.IntN(targets) // next slot of the current round
		slot := r.IntN(targets)
		wait := time.Duration(slot - pos)
		if slot < pos { // already probed this round: next round
			wait = time.Duration(targets - pos + r.IntN(targets))
		}
		accused = append(accused, phase+wait*p+p)
	}
	slices.Sort(accused)
	lo, hi := minSuspicion(cfg, n), maxSuspicion(cfg, n)
	k := floorConfirmations(cfg, n)
	start := accused[0]
	for c := 0; ; c++ { // c confirmations so far, the last at accused[c]
		deadline := start + floorSuspicionDuration(c, k, lo, hi)
		if c > 0 && deadline <= accused[c] {
			return accused[c] // the shortened timer had already run out
		}
		if c == k || c+1 >= len(accused) || deadline <= accused[c+1] {
			return deadline
		}
	}
}

// floorConfirmations is swim's suspicionConfirmations (formulas.go).
func floorConfirmations(cfg swim.Config, n int) int {
	k := cfg.SuspicionMult - 2
	if cfg.DisableLifeguard || n-2 < k || k < 0 {
		return 0
	}
	return k
}

// floorSuspicionDuration is swim's suspicionDuration (formulas.go).
func floorSuspicionDuration(c, k int, lo, hi time.Duration) time.Duration {
	if k < 1 {
		return lo
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(k)+1)
	d := time.Duration(math.Floor(1000*(hi.Seconds()-frac*(hi.Seconds()-lo.Seconds())))) * time.Millisecond
	return max(d, lo)
}
