package swimsim

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentd/agentd/swim"
)

// userEvents is the user-event workload and its checker (6, events).
// Members fire events (Node.UserEvent) at random during the fault phase,
// each with a payload naming its origin and a sequence number, so no two
// are alike. Every delivery (an EventUser in Ready, the origin's own
// included) is checked as it happens:
//
//   - at most once: no member delivers one event twice (the dedup buffer
//     keyed by Lamport time, name and payload);
//   - Lamport's clock condition: an event a member fires carries a time
//     above every event it delivered before (Serf witnesses each received
//     time, so the next fire is ordered after it).
//
// Delivery to everyone is not checked: user events have no anti-entropy
// (push-pull carries only the clock), so one fired in a minority
// partition may rightly never reach the rest.
type userEvents struct {
	s     *sim
	fired map[string]int // member → events fired
	// seen: observer → payloads delivered; last: observer → highest
	// Lamport time delivered by its current process (a restart forgets
	// it: the persisted clock may lag, restart.go).
	seen map[string]map[string]bool
	last map[string]swim.LamportTime
	n    int // events fired
	// ltime: burst payload → the Lamport time its origin fired it at.
	ltime map[string]swim.LamportTime
}

// userEventName is the name of every workload event.
const userEventName = "deploy"

func newUserEvents(s *sim) *userEvents {
	return &userEvents{s: s, fired: map[string]int{}, seen: map[string]map[string]bool{}, last: map[string]swim.LamportTime{}, ltime: map[string]swim.LamportTime{}}
}

// fire has m fire its next event.
func (u *userEvents) fire(m *member) {
	u.fired[m.name]++
	u.fireAs(m, userEventName, fmt.Sprintf("%s/%d", m.name, u.fired[m.name]))
}

func (u *userEvents) fireAs(m *member, name, payload string) {
	if err := m.node.UserEvent(m.now(), name, []byte(payload), false, nil); err != nil {
		u.s.violate(CheckDriver, fmt.Sprintf("%s: user event: %v", m.name, err))
		return
	}
	u.n++
	u.s.w.Tracef("%s fires user event %s", m.name, payload)
	m.drain()
}

// deliver checks one delivery of e at observer.
func (u *userEvents) deliver(observer string, e *swim.UserEvent) {
	if e.Name != userEventName && e.Name != burstEventName && e.Name != volleyEventName {
		return
	}
	payload := string(e.Payload)
	seen := u.seen[observer]
	if seen == nil {
		seen = map[string]bool{}
		u.seen[observer] = seen
	}
	if seen[payload] {
		u.s.violate(CheckEvents, fmt.Sprintf("%s delivered user event %s (ltime %d) twice", observer, payload, e.LTime))
		return
	}
	origin, _, _ := strings.Cut(payload, "/")
	last, delivered := u.last[observer]
	if origin == observer && delivered && e.LTime <= last {
		u.s.violate(CheckEvents, fmt.Sprintf("%s fired user event %s at ltime %d after delivering ltime %d", observer, payload, e.LTime, last))
	}
	if !delivered || e.LTime > last {
		u.last[observer] = e.LTime
	}
	seen[payload] = true
	if origin == observer && e.Name == burstEventName {
		u.ltime[payload] = e.LTime
	}
}

// The burst (quiet phase, paircut.go): every member up fires one event
// of the same name at the same instant, so members whose Lamport clocks
// agree fire concurrent events at one time, which the dedup buffer must
// tell apart by payload (Serf keys it by time, name and payload). With
// no loss and nothing else wrong, gossip then carries each event to most
// of the pool within an accusation window: burstCheck wants each at no
// fewer than half the members up (the origin included). A buffer that
// took two concurrent events for one dropped one of each such pair at
// every member but its origin, and this was the only place that could
// see it: checker 6 counts duplicates, never losses.
const burstEventName = "burst"

// burst has every member in ms fire its burst event; it returns their
// payloads.
func (u *userEvents) burst(ms []*member) []string {
	var out []string
	for _, m := range ms {
		p := m.name + "/burst"
		u.fireAs(m, burstEventName, p)
		out = append(out, p)
	}
	return out
}

// burstCheck judges the burst at the end of the quiet lead-in, over the
// members up: on average the events reached at least half of them (each
// one alone may miss a few: a small pool with LocalConfig sends an update
// only twice per holder, and 4 of 7 members was seen), and every two
// fired at one Lamport time were both delivered by some member.
func (u *userEvents) burstCheck(payloads []string, up []*member, after time.Duration) {
	total := 0
	at := map[swim.LamportTime][]string{}
	for _, p := range payloads {
		for _, m := range up {
			if u.seen[m.name][p] {
				total++
			}
		}
		if t, ok := u.ltime[p]; ok {
			at[t] = append(at[t], p)
		}
	}
	if 2*total < len(payloads)*len(up) {
		u.s.violate(CheckEvents, fmt.Sprintf("the %d burst user events reached %d of their %d deliveries within %v at zero loss",
			len(payloads), total, len(payloads)*len(up), after))
	}
	for t, ps := range at {
		if len(ps) < 2 {
			continue
		}
		both := false
		for _, m := range up {
			seen := u.seen[m.name]
			both = both || seen[ps[0]] && seen[ps[1]]
		}
		if !both {
			u.s.violate(CheckEvents, fmt.Sprintf("no member delivered both burst user events %s and %s, fired at one Lamport time %d (of %d)",
				ps[0], ps[1], t, len(ps)))
		}
	}
}
