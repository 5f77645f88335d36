package swim

import (
	"errors"
	"fmt"
	"time"
)

var (
	errNoAddrs = errors.New("swim: join: no address other than our own")
	// ErrUnknownMember is returned by ForceLeave for a name not in the table.
	ErrUnknownMember = errors.New("swim: unknown member")
)

func errLeft(op string) error { return fmt.Errorf("swim: %s: node has left", op) }

// Leave announces a graceful departure: a dead message about ourselves
// from ourselves, which peers record as left (status 3), not failed. The
// node stops probing and push-pulling but keeps gossiping so the message
// spreads; the driver keeps calling Tick until LeaveDone (or a timeout of
// its own) and then shuts down. A node that has left cannot rejoin: start
// a new one with a higher Incarnation.
func (n *Node) Leave(now time.Time) error {
	n.advance(now)
	if n.leaving {
		return nil
	}
	n.leaving = true
	n.probe = probeState{}
	n.join.pending = false
	n.self.state = StateLeft
	n.self.stateChange = n.now
	n.broadcastMsg(n.self.name, &dead{Inc: n.self.inc, Node: n.self.name, From: n.self.name}, true)
	return nil
}

// LeaveDone reports whether the leave message has been sent its full
// retransmit count (or there is nobody to tell).
func (n *Node) LeaveDone() bool {
	return n.leaving && (n.bq.leaveSent || n.estNumNodes() <= 1)
}

// ForceLeave marks a failed member as left (Consul's force-leave) and
// spreads that; others apply it at the member's current incarnation. A
// member that is in fact alive will refute it.
func (n *Node) ForceLeave(now time.Time, name string) error {
	n.advance(now)
	m, ok := n.members[name]
	if !ok {
		return fmt.Errorf("swim: force-leave %q: %w", name, ErrUnknownMember)
	}
	if m == n.self {
		return fmt.Errorf("swim: force-leave %q: use Leave for the local node", name)
	}
	n.handleDead(&dead{Inc: m.inc, Node: name, From: name})
	return nil
}
