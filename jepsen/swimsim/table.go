package swimsim

import (
	"fmt"
	"time"

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
//   - The event stream is a faithful log of the table (checkEventLog):
//     replaying one observer's events about a subject ends where its
//     final table does.
func checkTable(h *History, tl map[pair][]Record) []Violation {
	out := checkEventLog(h, tl)
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

// changesState lists the events that report a state change made by the
// call that emitted them (an update keeps the state; a reap reports an
// old one).
func changesState(t swim.EventType) bool {
	switch t {
	case swim.EventJoin, swim.EventSuspect, swim.EventFail, swim.EventLeave:
		return true
	}
	return false
}

// checkEventMember is the live part for one event about another member,
// drained at the observer's time now: its state agrees with its type, its
// status with its state, and an event that reports a state change
// carries it as made now (Member.StateChange; swim reaps a failed or
// left member that long after it, and Consul shows it).
func (s *sim) checkEventMember(observer string, now time.Time, e swim.Event) {
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
		return
	}
	if changesState(e.Type) && !x.StateChange.Equal(now) {
		s.tableViolations++
		s.violate(CheckTable, fmt.Sprintf("%s's %s event for %s at %v holds state change time %v",
			observer, e.Type, x.Name, now.Format("15:04:05.000000"), x.StateChange.Format("15:04:05.000000")))
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

// maxEventLogViolations bounds checkEventLog's violations per run: one
// missing emit breaks many pairs.
const maxEventLogViolations = 5

// checkEventLog compares each observer's last event about each other
// member until End with its final table, for every observer up at End: a subject
// it holds must have had an event, the last one not a reap; a fail
// event leaves it dead, a leave event left, a suspect event live (a
// refutation of a suspicion that keeps the tags emits nothing, as in
// Serf), a join or update event alive (with Config.EmitSuspectEvents,
// which the simulator sets, a suspicion emits); the tags are the last event's (tags change only
// with a join or update event) and the incarnation is at or above it. A
// subject it no longer holds was last reaped. The consumer (Consul's
// catalog) sees only the events: a state change without one (a failed
// member later marked left with no leave event) left Consul showing it
// failed while every table said left, and no other checker compares the
// two.
func checkEventLog(h *History, tl map[pair][]Record) []Violation {
	if !h.EventLog {
		return nil
	}
	var out []Violation
	bad := 0
	report := func(at time.Duration, format string, args ...any) {
		if bad++; bad <= maxEventLogViolations {
			out = append(out, Violation{CheckTable, at, fmt.Sprintf(format, args...)})
		}
	}
	for _, o := range h.Members {
		table, up := h.Final[o]
		if !up {
			continue
		}
		for _, x := range h.Members {
			if x == o {
				continue
			}
			rs := tl[pair{o, x}]
			for len(rs) > 0 && rs[len(rs)-1].At > h.End {
				rs = rs[:len(rs)-1] // the quiet phase's, after Final was taken
			}
			v, held := table[x]
			if len(rs) == 0 {
				if held {
					report(h.End, "%s's table holds %s (%s, inc %d) but it never had an event about it", o, x, v.State, v.Inc)
				}
				continue
			}
			last := rs[len(rs)-1]
			if !held {
				if last.Type != swim.EventReap {
					report(h.End, "%s's table no longer holds %s, but its last event about it was %s at %v, not a reap", o, x, last.Type, last.At)
				}
				continue
			}
			ok := false
			switch last.Type {
			case swim.EventFail:
				ok = v.State == swim.StateDead
			case swim.EventLeave:
				ok = v.State == swim.StateLeft
			case swim.EventSuspect:
				ok = isLive(v.State)
			case swim.EventJoin, swim.EventUpdate:
				// A suspicion emits (the simulator turns suspect events on).
				ok = v.State == swim.StateAlive
			}
			if !ok || v.Inc < last.Inc || v.TagV != last.TagV {
				report(h.End, "%s's table holds %s as %s at inc %d with tags v%d, but its last event about it was %s at %v (inc %d, tags v%d)",
					o, x, v.State, v.Inc, v.TagV, last.Type, last.At, last.Inc, last.TagV)
			}
		}
	}
	if bad > maxEventLogViolations {
		out = append(out, Violation{CheckTable, h.End, fmt.Sprintf("... and %d more event-log mismatches", bad-maxEventLogViolations)})
	}
	return out
}
