package jepsen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// raftRandFor returns a fresh core randomness source for a node start.
func (c *cluster) raftRandFor() *rand.Rand { return clock.Sub(c.raftRand, uint64(c.w.Steps())) }

// changeMembership proposes one single-server change through the
// leader: add a fresh non-voter (IDs are never reused), promote a
// caught-up non-voter (unless the core auto-promotes), or remove a member
// (sometimes the leader itself). Half the time a lone non-voter gets a
// second one beside it before its promotion: a quorum that wrongly counts
// non-voters then commits on a minority of the voters (§4.2.1). That
// choice is drawn from its own stream (c.member), so that a seed drawing
// promotions every time keeps its schedule. While a change is pending,
// another one is proposed anyway (proposeWhilePending).
func (c *cluster) changeMembership() {
	c.stopUnawareRemoved()
	if c.confPending && c.confBy.h != c.confH {
		c.confPending = false // its proposer crashed: the future died with it
	}
	l := c.leader()
	if l == nil {
		return
	}
	if c.confPending {
		c.proposeWhilePending(l)
		return
	}
	voters, nonvoters := splitSuffrage(l)
	var cc raft.ConfChange
	var added *node
	second := len(nonvoters) == 1 && len(voters) < 7 && c.member.IntN(2) == 0
	switch {
	case len(nonvoters) > 0 && !second:
		if c.swarm.AutoPromote {
			return
		}
		cc = raft.ConfChange{Type: raft.ConfPromote, Server: nonvoters[0]}
	case second || len(voters) < 7 && (len(voters) <= 3 || c.nem.IntN(2) == 0):
		added = c.newMember()
		added.start()
		cc = raft.ConfChange{Type: raft.ConfAddNonvoter, Server: raft.Server{ID: added.id, Address: added.addr, Suffrage: raft.Nonvoter}}
	default:
		victim := voters[c.nem.IntN(len(voters))]
		if c.nem.IntN(4) == 0 {
			victim = raft.Server{ID: l.id}
		}
		cc = raft.ConfChange{Type: raft.ConfRemove, Server: victim}
	}
	conf := l.h.Status().Configuration
	f := l.h.ProposeConfChange(cc)
	if f.Outcome() == driver.Failed {
		c.checkRefusal(l, conf, cc, f.Err())
		if added != nil {
			c.retire(added)
		}
		return
	}
	c.w.Tracef("nemesis conf-change %v %s at %d/%d", cc.Type, cc.Server.ID, f.Index, f.Term)
	switch cc.Type {
	case raft.ConfAddNonvoter:
		c.stats.fault(FaultMemberAdd)
	case raft.ConfRemove:
		c.stats.fault(FaultMemberRemove)
	}
	c.confPending, c.confBy, c.confH = true, l, l.h
	f.OnResolve(func(*driver.Future) { c.confPending = false })
}

// splitSuffrage returns the voters and the non-voters of l's latest
// configuration.
func splitSuffrage(l *node) (voters, nonvoters []raft.Server) {
	for _, s := range l.h.Status().Configuration.Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, s)
		} else {
			nonvoters = append(nonvoters, s)
		}
	}
	return voters, nonvoters
}

// proposeWhilePending proposes a second change while the nemesis's last
// one is still unresolved. The core must refuse it while the first is
// uncommitted (§4.1; ErrConfChangePending); once the first committed it
// may accept it before the nemesis hears of the commit. Every choice is
// drawn from c.member, and a non-voter to add is created only once the
// core accepted it (its ID is the next one), so that a refusal leaves the
// schedule as it was: only the trace and the refusal count differ.
func (c *cluster) proposeWhilePending(l *node) {
	r := c.member
	voters, nonvoters := splitSuffrage(l)
	var cc raft.ConfChange
	switch {
	case len(nonvoters) > 0 && r.IntN(2) == 0:
		cc = raft.ConfChange{Type: raft.ConfPromote, Server: nonvoters[r.IntN(len(nonvoters))]}
	case len(voters) < 7 && r.IntN(2) == 0:
		id := raft.NodeID(fmt.Sprintf("n%d", c.nextID+1)) // newMember's next
		cc = raft.ConfChange{Type: raft.ConfAddNonvoter, Server: raft.Server{ID: id, Address: string(id), Suffrage: raft.Nonvoter}}
	case len(voters) > 3: // as changeMembership, never below three voters
		cc = raft.ConfChange{Type: raft.ConfRemove, Server: voters[r.IntN(len(voters))]}
	default:
		return
	}
	conf := l.h.Status().Configuration
	f := l.h.ProposeConfChange(cc)
	if f.Outcome() == driver.Failed {
		c.checkRefusal(l, conf, cc, f.Err())
		c.stats.ConfRefused++
		c.w.Tracef("nemesis conf-change %v %s while one is pending: refused", cc.Type, cc.Server.ID)
		return
	}
	switch cc.Type {
	case raft.ConfAddNonvoter:
		added := c.newMember()
		if added.id != cc.Server.ID {
			panic(fmt.Sprintf("jepsen: new member %s, proposed as %s", added.id, cc.Server.ID))
		}
		added.start()
		c.stats.fault(FaultMemberAdd)
	case raft.ConfRemove:
		c.stats.fault(FaultMemberRemove)
	}
	c.w.Tracef("nemesis conf-change %v %s at %d/%d while one is pending: accepted", cc.Type, cc.Server.ID, f.Index, f.Term)
	c.confPending, c.confBy, c.confH = true, l, l.h
	f.OnResolve(func(*driver.Future) { c.confPending = false })
}

// observeApply follows committed configurations: members join when a
// committed configuration names them and are retired once one drops them.
func (c *cluster) observeApply(n *node, e *raft.Entry) {
	if c.failover != nil {
		c.failover.applied(e)
	}
	if e.Type != raft.EntryConfig || e.Index <= c.confIndex {
		return
	}
	conf, err := raft.DecodeConfiguration(e.Data)
	if err != nil {
		return
	}
	if e.Index > 1 {
		c.stats.ConfChanges++
	}
	c.confIndex = e.Index
	c.confVoters = votersOf(conf)
	in := map[raft.NodeID]bool{}
	for _, s := range conf.Servers {
		in[s.ID] = true
		if m := c.byID[s.ID]; m != nil {
			m.joined = true
		}
	}
	for _, m := range c.nodes {
		if m.joined && !m.removed && !in[m.id] {
			c.w.Tracef("member %s removed (config %d)", m.id, e.Index)
			m.removed = true
			// Give it a moment to learn, then stop it for good.
			at := e.Index
			c.w.After(100*time.Millisecond, func() {
				c.checkRemovedLeader(m, at)
				c.retire(m)
			})
		}
	}
}

// stopUnawareRemoved plays the operator who shuts a removed server down
// (as Consul's leave does) in the seeds where Raft needs that: without
// PreVote and CheckQuorum (the lease check, inLease in raft/election.go,
// is only safe with CheckQuorum), a server removed by an entry it never
// received is sent nothing by the leaders, whose configuration took
// effect on append, so it keeps timing out and its vote requests depose
// every new leader with a higher term (thesis §4.2.3, "disruptive
// servers"); if that happens before the removal commits, the cluster
// livelocks with it. So once every other member, running, holds a
// configuration without the node (then each has the removal entry, by
// Log Matching no leader overwrites it, and it commits with the next
// entry), the node stops for good, as after a committed removal. With
// either protection on, such a node keeps running: the core claims to
// survive it.
func (c *cluster) stopUnawareRemoved() {
	if c.swarm.PreVote || c.swarm.CheckQuorum {
		return
	}
	m := c.members()
	for _, x := range m {
		if len(m) < 2 || !excludedByOthers(x, m) {
			continue
		}
		c.w.Tracef("member %s stopped: removed in every other member's log, not committed", x.id)
		c.stats.UnawareStopped++
		c.retire(x)
		return // m is stale now; one is enough per call
	}
}

// excludedByOthers reports whether every member of m but x runs with a
// configuration that does not name x.
func excludedByOthers(x *node, m []*node) bool {
	for _, o := range m {
		if o == x {
			continue
		}
		if !o.running() {
			return false
		}
		for _, s := range o.h.Status().Configuration.Servers {
			if s.ID == x.id {
				return false
			}
		}
	}
	return true
}

// retire stops a node for good (removed, or never added).
func (c *cluster) retire(n *node) {
	n.removed = true
	if n.host.Up() {
		n.stop()
		n.host.Crash(nil)
	}
}

// checkRemovedLeader: a leader that commits its own removal steps down at
// once (thesis §4.2.2), so 100 ms after the removal at index at was first
// applied, its removed member does not lead with a commit index at or past
// it. (A stale leader of an earlier term, cut off before the removal
// committed, may still think it leads: it does not know of the commit.
// The removal entry's term does not tell them apart: a stale leader may
// have appended it.) Retiring removed members hides a removed leader that
// keeps leading, so it is checked here, before the retirement.
func (c *cluster) checkRemovedLeader(m *node, at raft.Index) {
	if !m.running() || !m.isLeader() {
		return
	}
	if st := m.h.Status(); st.HardState.Commit >= at {
		c.check.Fail(check.RemovedLeader, "%s still leads term %d with commit index %d, 100ms after its removal at %d was applied",
			m.id, st.HardState.Term, st.HardState.Commit, at)
	}
}
