package jepsen

import (
	"time"

	"github.com/agentd/agentd/raft"
)

// Leadership transfer (thesis §3.10), as an operator or a draining server
// asks for it: the leader catches the target up, stops taking proposals
// and sends it MsgTimeoutNow, on which the target campaigns at once with
// a transfer vote that voters grant even while they still hear from the
// leader. What the transfer must not skip is the log check on that vote:
// a MsgTimeoutNow the network delays past the transfer's timeout (after
// which the leader commits again) reaches a target that no longer holds
// every committed entry.
//
// The transfers have their own stream (streamTransfer) for the interval,
// drawn per seed, and the choices, so that the older fault processes keep
// their schedules.

// startTransfers asks the leader, at random intervals averaging 1-4 s
// (drawn per seed), to hand over to a random other voter.
func (c *cluster) startTransfers() {
	mean := time.Second + drawFrom(c.transfer, 3*time.Second)
	c.everyFrom(c.transfer, mean, c.transferLeadership)
}

func (c *cluster) transferLeadership() {
	l := c.leader()
	if l == nil {
		return
	}
	var targets []raft.NodeID
	for _, id := range l.voters() {
		if id != l.id {
			targets = append(targets, id)
		}
	}
	if len(targets) == 0 {
		return
	}
	to := targets[c.transfer.IntN(len(targets))]
	if err := l.h.TransferLeadership(to); err != nil {
		c.w.Tracef("nemesis leader-transfer %s -> %s refused: %v", l.id, to, err)
		return
	}
	c.stats.fault(FaultLeaderTransfer)
	c.w.Tracef("nemesis leader-transfer %s -> %s", l.id, to)
}
