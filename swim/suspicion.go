package swim

import "time"

// suspicion is the running Lifeguard suspicion timer of one member (§4.2,
// memberlist suspicion.go). It starts at max and shrinks toward min as
// distinct members confirm the suspicion; the member is declared dead at
// deadline unless it refutes first.
type suspicion struct {
	// inc is the incarnation the suspicion is about; a refutation raises
	// the member's incarnation and cancels it.
	inc Incarnation
	// confirmers holds who accused the member, the originator included.
	// Invariant: len(confirmers) == n+1.
	confirmers map[string]struct{}
	n          int // independent confirmations beyond the first accusation
	k          int // confirmations wanted (suspicionConfirmations)
	min, max   time.Duration
	start      time.Time
	deadline   time.Time
	// firstHand is set once a probe of our own failed during this
	// suspicion: we saw the silence, not only heard of it.
	firstHand bool
	// verifying is set when the deadline passed without firstHand or
	// full confirmation: the member is declared dead only when our
	// verification probe of it fails (Node.expireSuspicions); deadline
	// is ignored meanwhile.
	verifying bool
}

func newSuspicion(from string, inc Incarnation, k int, min, max time.Duration, now time.Time) *suspicion {
	s := &suspicion{
		inc:        inc,
		confirmers: map[string]struct{}{from: {}},
		k:          k,
		min:        min,
		max:        max,
		start:      now,
	}
	s.deadline = now.Add(suspicionDuration(0, k, min, max))
	return s
}

// maybeConfirm counts an accusation from a member not heard before and
// pulls the deadline in. It reports whether it counted (then the accusation
// is worth re-gossiping).
func (s *suspicion) maybeConfirm(from string) bool {
	if s.n >= s.k {
		return false
	}
	if _, ok := s.confirmers[from]; ok {
		return false
	}
	s.confirmers[from] = struct{}{}
	s.n++
	s.deadline = s.start.Add(suspicionDuration(s.n, s.k, s.min, s.max))
	return true
}

// confirmed reports whether k independent members confirmed the
// accusation (never, when the pool is too small to count them: k == 0).
func (s *suspicion) confirmed() bool { return s.k > 0 && s.n >= s.k }

// restart gives a member that answered our verification probe a fresh
// timer at its current confirmation count: it is alive, so its refutation
// gets another full window to reach us.
func (s *suspicion) restart(now time.Time) {
	s.verifying = false
	s.start = now
	s.deadline = now.Add(suspicionDuration(s.n, s.k, s.min, s.max))
}
