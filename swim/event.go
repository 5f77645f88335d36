package swim

import "fmt"

// EventType says what happened to a member.
type EventType uint8

const (
	// EventJoin: a member became alive (first seen, or back from failed
	// or left).
	EventJoin EventType = iota + 1
	// EventUpdate: an alive member changed its tags or address.
	EventUpdate
	// EventLeave: a member left gracefully (or was force-left).
	EventLeave
	// EventFail: a member was declared dead by the failure detector.
	EventFail
	// EventReap: a failed or left member was removed from the table.
	EventReap
	// EventUser: a user event arrived (Event.User is set).
	EventUser
	// EventSuspect: this node started suspecting a member. Emitted only
	// with Config.EmitSuspectEvents.
	EventSuspect
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	case EventReap:
		return "reap"
	case EventUser:
		return "user"
	case EventSuspect:
		return "suspect"
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is one entry of the ordered event stream.
type Event struct {
	Type EventType
	// Member is the member's state right after the change (zero for
	// EventUser).
	Member Member
	// User is set for EventUser.
	User *UserEvent
}

// UserEvent is a custom event broadcast to the cluster (Consul's
// /v1/event/fire). Filter fields are carried opaque: the core does not
// interpret them; the agent decides whether the event applies to it.
type UserEvent struct {
	LTime   LamportTime
	Name    string
	Payload []byte
	// Coalesce lets the receiver merge events of the same name.
	Coalesce bool
	// Filter is opaque (Consul encodes node/service/tag filters here).
	Filter []byte
}

// Packet is an outgoing message for the driver.
type Packet struct {
	// To is the destination address, "host:port".
	To string
	// Payload is the encoded message; the driver owns it.
	Payload []byte
	// Stream says the driver must send Payload over a stream (TCP): push-
	// pull, the fallback probe, or a message larger than Config.PacketSize.
	// The peer's driver passes it to HandleStream and writes back the
	// reply, if any; this side's driver passes that reply to HandleStream
	// too.
	Stream bool
}

// Ready is the output the driver drains after each call.
type Ready struct {
	// Packets to send, in order.
	Packets []Packet
	// Events in the order they happened. Never dropped: the core keeps
	// them until drained, so the driver must drain after each call.
	Events []Event
}
