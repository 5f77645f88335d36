package raft

import "fmt"

// ConfChangeType is one single-server membership change (thesis §4.1).
type ConfChangeType uint8

const (
	// ConfAddNonvoter adds a server that receives the log but does not vote.
	ConfAddNonvoter ConfChangeType = 1
	// ConfPromote turns a caught-up non-voter into a voter.
	ConfPromote ConfChangeType = 2
	// ConfRemove removes a server (voter or not).
	ConfRemove ConfChangeType = 3
	// ConfAddVoter adds a voter directly. Only allowed while the
	// configuration has a single voter (growing a one-node cluster); use
	// ConfAddNonvoter + ConfPromote otherwise so a new server cannot stall
	// commits while it catches up.
	ConfAddVoter ConfChangeType = 4
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfAddNonvoter:
		return "AddNonvoter"
	case ConfPromote:
		return "Promote"
	case ConfRemove:
		return "Remove"
	case ConfAddVoter:
		return "AddVoter"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChange asks the leader to change the configuration by one server.
// Server.Address and Suffrage are used by the add types; Remove and
// Promote only need Server.ID.
type ConfChange struct {
	Type   ConfChangeType
	Server Server
}

// apply returns the configuration that results from applying cc to c, or an
// error wrapping ErrInvalidConfChange.
func (cc ConfChange) apply(c Configuration, removed map[NodeID]struct{}) (Configuration, error) {
	bad := func(format string, args ...any) (Configuration, error) {
		return Configuration{}, fmt.Errorf("%w: %s %s: %s", ErrInvalidConfChange, cc.Type, cc.Server.ID, fmt.Sprintf(format, args...))
	}
	id := cc.Server.ID
	if id == None {
		return bad("empty id")
	}
	idx := -1
	voters := 0
	for i, s := range c.Servers {
		if s.ID == id {
			idx = i
		}
		if s.Suffrage == Voter {
			voters++
		}
	}
	servers := make([]Server, 0, len(c.Servers)+1)
	switch cc.Type {
	case ConfAddNonvoter, ConfAddVoter:
		if idx >= 0 {
			return bad("already a member")
		}
		if _, ok := removed[id]; ok {
			return bad("id was removed before; ids are never reused")
		}
		suf := Nonvoter
		if cc.Type == ConfAddVoter {
			if voters != 1 {
				return bad("only allowed with a single voter (have %d)", voters)
			}
			suf = Voter
		}
		servers = append(append(servers, c.Servers...), Server{ID: id, Address: cc.Server.Address, Suffrage: suf})
	case ConfPromote:
		if idx < 0 || c.Servers[idx].Suffrage != Nonvoter {
			return bad("not a non-voter")
		}
		servers = append(servers, c.Servers...)
		servers[idx].Suffrage = Voter
	case ConfRemove:
		if idx < 0 {
			return bad("not a member")
		}
		if c.Servers[idx].Suffrage == Voter && voters == 1 {
			return bad("cannot remove the last voter")
		}
		servers = append(append(servers, c.Servers[:idx]...), c.Servers[idx+1:]...)
	default:
		return bad("unknown type")
	}
	return Configuration{Servers: sortServers(servers)}, nil
}
