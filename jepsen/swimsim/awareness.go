package swimsim

import (
	"fmt"
	"time"
)

// awarenessWatch backs checker 5 (health): once the faults are healed,
// every member's probes succeed again, and each success lowers its
// Lifeguard awareness score (Node.Health) by one (Lifeguard §4.1), so the
// score must come back to 0 during the liveness phase. The detection
// bound (bounds.go) already allows probe periods at full awareness, so a
// score that only ever rises (every missed nack or refutation slowing the
// member's probing for good) breaks no other checker.
//
// The score is sampled once per simulated second of the liveness phase;
// a member counts as recovered once any sample reads 0. In a healed pool
// the score sits at 0 nearly all the time (probes fail only against
// crashed members not yet declared dead), so sampling misses no recovery.
type awarenessWatch struct {
	recovered map[string]bool
}

func newAwarenessWatch() *awarenessWatch {
	return &awarenessWatch{recovered: map[string]bool{}}
}

// sample reads the score of every member up now.
func (w *awarenessWatch) sample(s *sim) {
	for _, m := range s.up() {
		if m.node.Health() == 0 {
			w.recovered[m.name] = true
		}
	}
}

// check reports each member of up never sampled at 0; health is its
// score at the end, healAt the heal.
func (w *awarenessWatch) check(up []string, health map[string]int, healAt, end time.Duration) []Violation {
	var out []Violation
	for _, name := range up {
		if w.recovered[name] {
			continue
		}
		out = append(out, Violation{CheckHealth, end, fmt.Sprintf(
			"%s's awareness score never came back to 0 in the %v after the heal at %v (%d at the end)",
			name, end-healAt, healAt, health[name])})
	}
	return out
}
