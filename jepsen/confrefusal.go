package jepsen

import (
	"errors"

	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/raft"
)

// checkRefusal judges a configuration change the core refused. A refusal
// for a pending change, a missing own-term commit, a transfer or lost
// leadership is the core's call; a refusal as invalid (ErrInvalidConfChange)
// must be justified by the leader's own latest configuration, conf, read
// just before the proposal: adding an ID it does not name (the nemesis
// never reuses one), promoting a non-voter it names, removing a member it
// names that is not its last voter are all valid. Nothing else watches
// for this: a core that refuses every change of a kind simply leaves the
// membership as it is, and every other checker passes on a fixed cluster.
func (c *cluster) checkRefusal(l *node, conf raft.Configuration, cc raft.ConfChange, err error) {
	if !errors.Is(err, raft.ErrInvalidConfChange) || !confChangeValid(conf, cc) {
		return
	}
	c.check.Fail(check.ConfChangeRefused, "%s refused %v %s as invalid, but its configuration %v allows it: %v",
		l.id, cc.Type, cc.Server.ID, conf.Servers, err)
}

// confChangeValid reports whether cc is a valid single-server change of
// conf (raft/confchange.go's rules, restated).
func confChangeValid(conf raft.Configuration, cc raft.ConfChange) bool {
	var member *raft.Server
	voters := 0
	for i, s := range conf.Servers {
		if s.ID == cc.Server.ID {
			member = &conf.Servers[i]
		}
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	switch cc.Type {
	case raft.ConfAddNonvoter:
		return member == nil
	case raft.ConfPromote:
		return member != nil && member.Suffrage == raft.Nonvoter
	case raft.ConfRemove:
		return member != nil && (member.Suffrage != raft.Voter || voters > 1)
	}
	return false
}
