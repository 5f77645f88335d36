package swim

import (
	"fmt"
	"maps"
	"time"
)

// Incarnation orders claims about one member (SWIM §4.2). Only the member
// itself raises its own incarnation: to refute a suspicion, to change its
// tags, or on restart (Config.Incarnation, from persisted state).
type Incarnation uint32

// LamportTime is the logical clock of user events (Serf's event clock).
type LamportTime uint64

// State is a member's internal failure-detector state. Suspect is distinct
// from alive here; Consul's Status folds it into alive (see Status).
//
// Values are sent in push-pull state: only append.
type State uint8

const (
	StateAlive   State = 0
	StateSuspect State = 1
	StateDead    State = 2
	StateLeft    State = 3
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// deadOrLeft reports whether the member is out of the live set.
func (s State) deadOrLeft() bool { return s == StateDead || s == StateLeft }

// Status is a member's status as Consul reports it in /v1/agent/members
// ("Status" field). The numbers are Consul's (serf.MemberStatus).
type Status uint8

const (
	StatusNone    Status = 0
	StatusAlive   Status = 1
	StatusLeaving Status = 2
	StatusLeft    Status = 3
	StatusFailed  Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Member is a snapshot of one member as this node sees it. It is a copy:
// the caller may keep and modify it.
type Member struct {
	Name string
	// Addr is the member's gossip address, "host:port".
	Addr string
	Tags map[string]string
	// Incarnation of the latest claim accepted about the member.
	Incarnation Incarnation
	// State is the internal state (suspect kept distinct from alive).
	State State
	// Status is what Consul shows: alive (also while suspect), leaving
	// (only the local node, between Leave and its broadcast), left, failed.
	Status Status
	// StateChange is when State last changed, by this node's clock.
	StateChange time.Time
}

// member is the table entry behind Member.
type member struct {
	name string
	addr string
	tags map[string]string
	inc  Incarnation
	// state; stateChange is the input time at which it last changed.
	state       State
	stateChange time.Time
	// susp is the running suspicion timer. Invariant: susp != nil only
	// while state == StateSuspect.
	susp *suspicion
	// accuser is who started the suspicion (suspect) or declared the
	// death (dead, left); push-pull passes it on so that the receiver
	// does not count a relayed accusation as an independent one.
	accuser string
}

func (m *member) snapshot(leaving bool) Member {
	st := StatusAlive
	switch m.state {
	case StateDead:
		st = StatusFailed
	case StateLeft:
		st = StatusLeft
		if leaving {
			st = StatusLeaving
		}
	}
	return Member{
		Name:        m.name,
		Addr:        m.addr,
		Tags:        maps.Clone(m.tags),
		Incarnation: m.inc,
		State:       m.state,
		Status:      st,
		StateChange: m.stateChange,
	}
}
