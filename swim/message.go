package swim

import "fmt"

// msgType is the first byte of every encoded message.
//
// The values are on the wire: only append, never renumber or reuse.
type msgType uint8

const (
	msgPing         msgType = 1
	msgIndirectPing msgType = 2
	msgAck          msgType = 3
	msgNack         msgType = 4
	msgSuspect      msgType = 5
	msgAlive        msgType = 6
	msgDead         msgType = 7
	msgCompound     msgType = 8
	msgPushPull     msgType = 9
	msgUserEvent    msgType = 10
)

func (t msgType) String() string {
	switch t {
	case msgPing:
		return "ping"
	case msgIndirectPing:
		return "indirect-ping"
	case msgAck:
		return "ack"
	case msgNack:
		return "nack"
	case msgSuspect:
		return "suspect"
	case msgAlive:
		return "alive"
	case msgDead:
		return "dead"
	case msgCompound:
		return "compound"
	case msgPushPull:
		return "push-pull"
	case msgUserEvent:
		return "user-event"
	}
	return fmt.Sprintf("msgType(%d)", uint8(t))
}

// wireVersion is the second byte of every message. A receiver drops
// messages of a version it does not know.
const wireVersion = 1

// Size limits, checked on encode and decode.
const (
	maxNameLen      = 128
	maxAddrLen      = 256
	maxTagCount     = 64
	maxEventField   = 1024    // name, payload or filter of a user event
	maxCompoundPart = 255     // messages in one compound
	maxPushPullSize = 8 << 20 // bytes of one push-pull message
)

// message is any decoded message.
type message interface{ kind() msgType }

// ping asks Target (by name, so a reused address is not mistaken for the
// member) to ack Seq to SourceAddr.
type ping struct {
	Seq        uint32
	Target     string
	SourceName string
	SourceAddr string
}

// indirectPing asks the receiver to ping Target at TargetAddr and relay
// the ack to SourceAddr under Seq; with Nack it also reports a timeout
// (Lifeguard §4.1: nacks tell the asker the relay is healthy).
type indirectPing struct {
	Seq        uint32
	Target     string
	TargetAddr string
	Nack       bool
	// NackAfterMs is when the relay gives up and nacks, in ms after it
	// got the request (0: its own ProbeTimeout). The asker sets it so the
	// nack arrives before its probe ends; memberlist's fixed relay
	// timeout lands the nack after the asker's deadline at LAN defaults.
	NackAfterMs uint32
	SourceName  string
	SourceAddr  string
}

type ack struct{ Seq uint32 }

type nack struct{ Seq uint32 }

// suspect: From suspects Node at Incarnation.
type suspect struct {
	Inc  Incarnation
	Node string
	From string
}

// alive: Node is alive at Incarnation with Addr and Tags.
type alive struct {
	Inc  Incarnation
	Node string
	Addr string
	Tags map[string]string
}

// dead: From declares Node dead at Incarnation. From == Node means a
// graceful leave (memberlist's convention); a leave about a dead member
// makes it left (force-leave).
type dead struct {
	Inc  Incarnation
	Node string
	From string
}

func (d *dead) left() bool { return d.Node == d.From }

// compound bundles several messages in one datagram (piggybacking).
type compound struct{ Parts [][]byte }

// pushPull carries the sender's whole member table (dead and left
// entries included) and its user-event clock.
type pushPull struct {
	Join       bool // sent by Join
	Response   bool // the reply half of an exchange
	EventLTime LamportTime
	Members    []pushPullMember
}

type pushPullMember struct {
	Name  string
	Addr  string
	Tags  map[string]string
	Inc   Incarnation
	State State
	// Accuser is who started the suspicion of a suspect member, or who
	// declared a dead one ("" otherwise, or if unknown). The receiver
	// takes the claim as that member's accusation, not as one of its own.
	Accuser string
}

type userEventMsg struct{ UserEvent }

func (*ping) kind() msgType         { return msgPing }
func (*indirectPing) kind() msgType { return msgIndirectPing }
func (*ack) kind() msgType          { return msgAck }
func (*nack) kind() msgType         { return msgNack }
func (*suspect) kind() msgType      { return msgSuspect }
func (*alive) kind() msgType        { return msgAlive }
func (*dead) kind() msgType         { return msgDead }
func (*compound) kind() msgType     { return msgCompound }
func (*pushPull) kind() msgType     { return msgPushPull }
func (*userEventMsg) kind() msgType { return msgUserEvent }
