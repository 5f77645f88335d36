package raft

import (
	"fmt"
	"slices"
)

// configState tracks the node's configuration. Configurations take effect
// when their entry is appended (thesis §4.1), so the latest appended one is
// in force even before it commits; if its entry is truncated, the previous
// one comes back. history keeps every configuration whose entry is above
// the commit index plus the newest one at or below it, so a rollback never
// needs to read the log.
type configState struct {
	history []confEntry // ascending index; never empty after NewNode
	// voters is the sorted voter IDs of the latest configuration.
	voters []NodeID
	// removed holds IDs this node saw leave the configuration; the leader
	// refuses to add them back (IDs are never reused). It only knows what
	// it saw since start or in its log: a removal compacted into a snapshot
	// before this node started is not remembered.
	removed map[NodeID]struct{}
}

type confEntry struct {
	index Index
	conf  Configuration
}

func (c *configState) latest() *confEntry { return &c.history[len(c.history)-1] }

func (c *configState) conf() Configuration { return c.latest().conf }

// server returns the member with id, if any.
func (c *configState) server(id NodeID) (Server, bool) {
	for _, s := range c.latest().conf.Servers {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

func (c *configState) isVoter(id NodeID) bool {
	_, ok := slices.BinarySearch(c.voters, id)
	return ok
}

func (c *configState) isMember(id NodeID) bool {
	_, ok := c.server(id)
	return ok
}

// push records a configuration appended at index.
func (c *configState) push(index Index, conf Configuration) {
	if n := len(c.history); n > 0 {
		prev := c.history[n-1]
		if index <= prev.index {
			panic(fmt.Sprintf("raft: configuration at %d not after the previous one at %d", index, prev.index))
		}
		c.noteRemovals(prev.conf, conf)
	}
	c.history = append(c.history, confEntry{index: index, conf: conf})
	c.refresh()
}

// reset replaces the history with one configuration (snapshot install).
func (c *configState) reset(index Index, conf Configuration) {
	if len(c.history) > 0 {
		c.noteRemovals(c.conf(), conf)
	}
	c.history = append(c.history[:0], confEntry{index: index, conf: conf})
	c.refresh()
}

// truncateFrom rolls back configurations whose entries at >= i were
// truncated. Reports whether the configuration changed.
func (c *configState) truncateFrom(i Index) bool {
	n := len(c.history)
	for n > 1 && c.history[n-1].index >= i {
		n--
	}
	if n == len(c.history) {
		return false
	}
	if c.history[n-1].index >= i {
		panic(fmt.Sprintf("raft: truncating from %d drops the committed configuration at %d", i, c.history[n-1].index))
	}
	c.history = c.history[:n]
	c.refresh()
	return true
}

// compact forgets configurations superseded by one at or below committed.
func (c *configState) compact(committed Index) {
	k := 0
	for k+1 < len(c.history) && c.history[k+1].index <= committed {
		k++
	}
	if k > 0 {
		c.history = append(c.history[:0], c.history[k:]...)
	}
}

func (c *configState) refresh() {
	c.voters = c.voters[:0]
	for _, s := range c.conf().Servers {
		if s.Suffrage == Voter {
			c.voters = append(c.voters, s.ID)
		}
	}
	slices.Sort(c.voters)
}

func (c *configState) noteRemovals(old, new Configuration) {
	for _, s := range old.Servers {
		if !slices.ContainsFunc(new.Servers, func(t Server) bool { return t.ID == s.ID }) {
			if c.removed == nil {
				c.removed = make(map[NodeID]struct{})
			}
			c.removed[s.ID] = struct{}{}
		}
	}
}

// pendingConfChange reports whether the latest configuration is not yet
// committed (at most one may be outstanding).
func (n *Node) pendingConfChange() bool {
	return n.conf.latest().index > n.log.committed
}

// onAppended updates membership after ents were appended to the log
// (possibly truncating it from ents[0].Index).
func (n *Node) onAppended(ents []Entry) {
	if len(ents) == 0 {
		return
	}
	changed := n.conf.truncateFrom(ents[0].Index)
	for i := range ents {
		if ents[i].Type != EntryConfig {
			continue
		}
		conf, err := DecodeConfiguration(ents[i].Data)
		if err != nil {
			// Entries are validated in Step and built locally by Propose.
			panic(fmt.Sprintf("raft: config entry %d: %v", ents[i].Index, err))
		}
		n.conf.push(ents[i].Index, conf)
		changed = true
	}
	if changed {
		n.configChanged()
	}
}

// configChanged brings role-dependent state in line with the latest
// configuration.
func (n *Node) configChanged() {
	if n.role != Leader {
		if n.role != Follower && !n.conf.isVoter(n.id) {
			n.becomeFollower(n.term, None)
		}
		return
	}
	for id := range n.prs {
		if !n.conf.isMember(id) && id != n.id {
			delete(n.prs, id)
		}
	}
	for _, s := range n.conf.conf().Servers {
		if _, ok := n.prs[s.ID]; !ok {
			n.prs[s.ID] = newProgress(n.log.lastIndex()+1, n.cfg.MaxInflightMsgs, n.cfg.MaxInflightBytes)
		}
	}
	if n.transferee != None && !n.conf.isVoter(n.transferee) {
		n.abortTransfer()
	}
	// A smaller quorum may already cover more entries.
	if n.maybeCommit() {
		n.needBcast = true
	}
}

// maybeStepDownRemoved makes a leader that is no longer a voter step down
// once the configuration removing it is committed (thesis §4.2.2); until
// then it keeps managing the cluster without counting itself.
func (n *Node) maybeStepDownRemoved() {
	if n.role == Leader && !n.conf.isVoter(n.id) && !n.pendingConfChange() {
		n.flushAppends() // let followers learn the commit first
		n.becomeFollower(n.term, None)
	}
}
