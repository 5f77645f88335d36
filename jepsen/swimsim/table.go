package swimsim

import (
	"fmt"

	"github.com/agentd/agentd/swim"
)

// Checker 9 (table): each member's table moves only forward, and says
// what Consul would show.
//
//   - Incarnations never go back: in one observer's records about one
//     subject, the incarnation never falls below an earlier one until
//     the subject is reaped (swim's first precedence rule: a claim below
//     the entry's incarnation is ignored). A stale suspicion or death
//     accepted over a refutation shows here even when it does no lasting
//     harm (the subject refutes again) and when checker 2 excuses the
//     accusation it belongs to.
//   - Each event's member snapshot agrees with its type, and its Status
//     with its State (Consul's status: alive also while suspect, failed,
//     left), checked as events are drained; every entry of every final
//     table is checked the same way. Checker 7 looks at State alone, so a
//     leaver reported failed (status 4) to Consul went unseen.
func checkTable(h *History, tl map[pair][]Record) []Violation {
	var out []Violation
	for _, o := range h.Members {
		for _, m := range h.Members {
			rs := tl[pair{o, m}]
			for i := 1; i < len(rs); i++ {
				prev, r := rs[i-1], rs[i]
				if prev.Type == swim.EventReap || r.Inc >= prev.Inc {
					continue
				}
				out = append(out, Violation{CheckTable, r.At, fmt.Sprintf(
					"%s's %s of %s at inc %d follows its %s at inc %d (t=%v): an incarnation went back",
					o, r.Type, m, r.Inc, prev.Type, prev.Inc, prev.At)})
			}
		}
	}
	return out
}

// consulStatus is the status swim must report for a state (types.go
// Status), for a member other than the local one.
func consulStatus(st swim.State) swim.Status {
	switch st {
	case swim.StateAlive, swim.StateSuspect:
		return swim.StatusAlive
	case swim.StateDead:
		return swim.StatusFailed
	case swim.StateLeft:
		return swim.StatusLeft
	}
	return swim.StatusNone
}

// eventStates lists the states an event's member snapshot may hold.
func eventStates(t swim.EventType) []swim.State {
	switch t {
	case swim.EventJoin, swim.EventUpdate:
		return []swim.State{swim.StateAlive}
	case swim.EventSuspect:
		return []swim.State{swim.StateSuspect}
	case swim.EventFail:
		return []swim.State{swim.StateDead}
	case swim.EventLeave:
		return []swim.State{swim.StateLeft}
	case swim.EventReap:
		return []swim.State{swim.StateDead, swim.StateLeft}
	}
	return nil
}

// maxTableViolations bounds the live part's violations per run: a broken
// mapping breaks every event.
const maxTableViolations = 20

// checkEventMember is the live part for one event about another member.
func (s *sim) checkEventMember(observer string, e swim.Event) {
	if s.tableViolations >= maxTableViolations {
		return
	}
	x := e.Member
	ok := false
	for _, st := range eventStates(e.Type) {
		ok = ok || x.State == st
	}
	if !ok || x.Status != consulStatus(x.State) {
		s.tableViolations++
		s.violate(CheckTable, fmt.Sprintf("%s's %s event for %s holds state %s, status %s", observer, e.Type, x.Name, x.State, x.Status))
	}
}

// checkFinalStatus is the live part for the final tables.
func (s *sim) checkFinalStatus() {
	for _, m := range s.up() {
		for _, x := range m.node.Members() {
			if x.Name == m.name || x.Status == consulStatus(x.State) || s.tableViolations >= maxTableViolations {
				continue
			}
			s.tableViolations++
			s.violate(CheckTable, fmt.Sprintf("%s's table holds %s as %s with status %s", m.name, x.Name, x.State, x.Status))
		}
	}
}
