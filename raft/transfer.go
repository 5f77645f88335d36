package raft

import "fmt"

// TransferLeadership hands leadership to a voter (thesis §3.10): the leader
// stops accepting proposals, brings the target's log up to date, then sends
// MsgTimeoutNow so it campaigns at once. The transfer is abandoned after an
// election timeout. Transferring to ourselves is a no-op.
func (n *Node) TransferLeadership(to NodeID) error {
	if n.role != Leader {
		return ErrNotLeader
	}
	if to == n.id {
		return nil
	}
	if !n.conf.isVoter(to) || n.prs[to] == nil {
		return fmt.Errorf("%w: transfer target %s is not a voter", ErrInvalidConfChange, to)
	}
	if n.transferee == to {
		return nil
	}
	n.transferee = to
	n.transferElapsed = 0
	pr := n.prs[to]
	if pr.match == n.log.lastIndex() {
		n.sendTimeoutNow(to)
	} else {
		n.needBcast = true
	}
	return nil
}

func (n *Node) sendTimeoutNow(to NodeID) {
	n.send(Message{To: to, Type: MsgTimeoutNow})
}

func (n *Node) abortTransfer() {
	n.transferee = None
	n.transferElapsed = 0
}
