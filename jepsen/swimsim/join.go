package swimsim

import (
	"fmt"
	"time"
)

// Join bookkeeping (checker 11, join), watched live on the wire. Join
// sends a push-pull with the join flag to each contact; the first
// push-pull answer completes it (swim handlePushPull); without one, the
// attempt is repeated after JoinRetryInterval, doubling up to 8×, until
// JoinMaxAttempts (0: for ever). So, from the member's Join call:
//
//   - attempt k (k ≥ 2) leaves no earlier than R·Σ_{i<k−1} 2^min(i,3)
//     after it (R = JoinRetryInterval): each retry waits for the deadline
//     the previous one set (joinBackoff);
//   - an answer from a contact, arriving before the join could have
//     given up (JoinMaxAttempts = 0, or earlier than attempt
//     JoinMaxAttempts+1 could be due), makes Joined true within the same
//     HandleStream: the bound is 0;
//   - once Joined, no join is sent again until the driver calls Join
//     anew.
//
// A tickJoin whose guard was `!pending && before(nextAt)` instead of
// `||` (swim/mutants 075) resent the join at every tick while pending,
// then every 8 s for good after the answer (Joined could stay false
// with JoinMaxAttempts set); membership merged anyway, so every other
// checker passed.

// joinWatch is one member's join as the simulator saw it.
type joinWatch struct {
	called   bool
	at       time.Time // local clock at the last Join call
	contacts map[string]bool
	attempts int  // flushes that sent a join since the call
	answered bool // a contact's answer made Joined true
	reported bool // a violation was reported: one per Join
}

// joinBackoff is the least local time from a Join call to its attempt k
// (k ≥ 1) in a core that retries after r, doubling up to 8×.
func joinBackoff(r time.Duration, k int) time.Duration {
	var d time.Duration
	for i := range max(k-1, 0) {
		d += r << min(i, 3)
	}
	return d
}

// join calls Join on m's core and starts watching it.
func (m *member) join(addrs []string) error {
	m.joinW = joinWatch{called: true, at: m.now(), contacts: map[string]bool{}}
	for _, a := range addrs {
		m.joinW.contacts[a] = true
	}
	m.joining = true
	err := m.node.Join(m.now(), addrs)
	m.drain()
	return err
}

// sentJoin judges a flush that sent at least one join push-pull.
func (m *member) sentJoin() {
	w := &m.joinW
	if w.reported {
		return
	}
	if !w.called {
		w.reported = true
		m.s.violate(CheckJoin, fmt.Sprintf("%s sent a join push-pull, but Join was never called", m.name))
		return
	}
	if w.answered {
		m.s.violate(CheckJoin, fmt.Sprintf("%s sent a join push-pull %v after its Join, though a contact's answer had already completed it",
			m.name, m.now().Sub(w.at)))
		w.reported = true
		return
	}
	w.attempts++
	cfg := m.cfg
	if least := joinBackoff(cfg.JoinRetryInterval, w.attempts); m.now().Sub(w.at) < least {
		m.s.violate(CheckJoin, fmt.Sprintf("%s sent join attempt %d %v after its Join, before the backoff allows (%v from JoinRetryInterval %v)",
			m.name, w.attempts, m.now().Sub(w.at), least, cfg.JoinRetryInterval))
		w.reported = true
	}
}

// handledAnswer judges m after its core handled a push-pull answer from
// the address from.
func (m *member) handledAnswer(from string) {
	w := &m.joinW
	if !w.called || w.answered || w.reported || !w.contacts[from] {
		return
	}
	if m.node.Joined() {
		w.answered = true
		return
	}
	cfg := m.cfg
	if cfg.JoinMaxAttempts > 0 && m.now().Sub(w.at) >= joinBackoff(cfg.JoinRetryInterval, cfg.JoinMaxAttempts+1) {
		return // the join may have given up before the answer came
	}
	m.s.violate(CheckJoin, fmt.Sprintf("%s got the answer of contact %s %v after its Join, yet Joined is false",
		m.name, from, m.now().Sub(w.at)))
	w.reported = true
}
