package swim

import "time"

// awareness is Lifeguard's local health score (§4.1, memberlist
// awareness.go). A node that misses acks or nacks, or has to refute a
// suspicion of itself, is more likely the slow one, so it probes less
// aggressively instead of accusing healthy peers.
//
// Invariant: 0 <= score < max.
type awareness struct {
	score int
	max   int // Config.AwarenessMaxMultiplier
	// off pins the score at 0 (Config.DisableLifeguard).
	off bool
}

// apply adds delta to the score, clamped to [0, max−1].
func (a *awareness) apply(delta int) {
	if a.off {
		return
	}
	a.score = min(max(a.score+delta, 0), a.max-1)
}

// scale multiplies d by score+1.
func (a *awareness) scale(d time.Duration) time.Duration {
	return d * time.Duration(a.score+1)
}
