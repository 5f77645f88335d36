package swimsim

import (
	"fmt"
	"strings"

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
	// Lamport time delivered (valid once seen[observer] is non-empty).
	seen map[string]map[string]bool
	last map[string]swim.LamportTime
	n    int // events fired
}

// userEventName is the name of every workload event.
const userEventName = "deploy"

func newUserEvents(s *sim) *userEvents {
	return &userEvents{s: s, fired: map[string]int{}, seen: map[string]map[string]bool{}, last: map[string]swim.LamportTime{}}
}

// fire has m fire its next event.
func (u *userEvents) fire(m *member) {
	u.fired[m.name]++
	payload := fmt.Sprintf("%s/%d", m.name, u.fired[m.name])
	if err := m.node.UserEvent(m.now(), userEventName, []byte(payload), false, nil); err != nil {
		u.s.violate(CheckDriver, fmt.Sprintf("%s: user event: %v", m.name, err))
		return
	}
	u.n++
	u.s.w.Tracef("%s fires user event %s", m.name, payload)
	m.drain()
}

// deliver checks one delivery of e at observer.
func (u *userEvents) deliver(observer string, e *swim.UserEvent) {
	if e.Name != userEventName {
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
	if origin == observer && len(seen) > 0 && e.LTime <= u.last[observer] {
		u.s.violate(CheckEvents, fmt.Sprintf("%s fired user event %s at ltime %d after delivering ltime %d", observer, payload, e.LTime, u.last[observer]))
	}
	if len(seen) == 0 || e.LTime > u.last[observer] {
		u.last[observer] = e.LTime
	}
	seen[payload] = true
}
