package raft

import "fmt"

// ProposeConfChange proposes a single-server configuration change. Only one
// may be uncommitted at a time, and only after the leader committed an entry
// of its own term (pitfall 13: otherwise two changes from different terms
// could both commit with disjoint quorums).
func (n *Node) ProposeConfChange(cc ConfChange) (Index, Term, error) {
	if err := n.checkPropose(0); err != nil {
		return 0, 0, err
	}
	if !n.committedOwnTerm() {
		return 0, 0, ErrNotReady
	}
	if n.pendingConfChange() {
		return 0, 0, ErrConfChangePending
	}
	conf, err := cc.apply(n.conf.conf(), n.conf.removed)
	if err != nil {
		return 0, 0, err
	}
	data := EncodeConfiguration(conf)
	if err := n.checkPropose(uint64(len(data))); err != nil {
		return 0, 0, err
	}
	return n.appendLocal(EntryConfig, data)
}

// tickAutoPromote promotes a non-voter that stayed within CatchUpEntries of
// the leader's last index for a whole election timeout (Config.AutoPromote).
func (n *Node) tickAutoPromote() {
	if !n.cfg.AutoPromote {
		return
	}
	last := n.log.lastIndex()
	var ready NodeID
	for _, s := range n.conf.conf().Servers {
		if s.Suffrage != Nonvoter {
			continue
		}
		pr := n.prs[s.ID]
		if pr == nil {
			continue
		}
		if pr.match+n.cfg.CatchUpEntries >= last && pr.match > 0 {
			pr.caughtUpTicks++
		} else {
			pr.caughtUpTicks = 0
		}
		if ready == None && pr.caughtUpTicks >= n.cfg.ElectionTicks {
			ready = s.ID
		}
	}
	if ready == None || n.pendingConfChange() || n.transferee != None {
		return
	}
	if _, _, err := n.ProposeConfChange(ConfChange{Type: ConfPromote, Server: Server{ID: ready}}); err == nil {
		n.debug("auto-promoting caught-up non-voter", "id", ready)
		n.prs[ready].caughtUpTicks = 0
	} else if err != ErrNotReady && err != ErrTooMuchUncommitted {
		panic(fmt.Sprintf("raft: auto-promote %s: %v", ready, err))
	}
}
