package store

import (
	"slices"
	"time"
)

// sessionCreate inserts s after Consul's checks: the node exists, every
// linked check exists on it and is not critical.
func (x *tx) sessionCreate(s Session) error {
	if s.ID == "" {
		return rejected("missing session ID")
	}
	if _, found := x.t.sessions.Get(&Session{ID: s.ID}); found {
		return rejected("session %q already exists", s.ID)
	}
	switch s.Behavior {
	case "":
		s.Behavior = BehaviorRelease
	case BehaviorRelease, BehaviorDelete:
	default:
		return rejected("invalid session behavior %q", s.Behavior)
	}
	if s.LockDelay < 0 {
		return rejected("negative lock delay %v", s.LockDelay)
	}
	if _, found := x.t.nodes.Get(&Node{Node: s.Node}); !found {
		return rejected("Missing node registration")
	}
	if s.NodeChecks == nil {
		if _, found := x.t.checks.Get(&Check{Node: s.Node, CheckID: SerfCheckID}); found {
			s.NodeChecks = []string{SerfCheckID}
		}
	} else if len(s.NodeChecks) == 0 {
		s.NodeChecks = nil // one spelling of "none", for equal hashes
	}
	ids := slices.Clone(s.NodeChecks)
	for _, c := range s.ServiceChecks {
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		c, found := x.t.checks.Get(&Check{Node: s.Node, CheckID: id})
		if !found {
			return rejected("Missing check '%s' registration", id)
		}
		if c.Status == HealthCritical {
			return rejected("Check '%s' is in %s state", id, c.Status)
		}
	}
	s.CreateTime = x.now
	s.CreateIndex, s.ModifyIndex = x.index, x.index
	x.mut(bitSessions).sessions.Set(&s)
	x.mut(bitSessionsByNode).sessionsByNode.Set(pair{s.Node, s.ID})
	x.touch(tableSessions, topicSessions, s.ID)
	x.changes = append(x.changes, change{topicSessionNode, s.Node})
	return nil
}

// MaxLockDelay caps the lock-delay an invalidated session imposes
// (Consul's structs.MaxLockDelay).
const MaxLockDelay = 60 * time.Second

// sessionDestroy invalidates session id: each held key gets the session's
// lock-delay (from the command's time) and is released or deleted per
// Behavior. An unknown id changes nothing.
func (x *tx) sessionDestroy(id string) {
	s, found := x.t.sessions.Get(&Session{ID: id})
	if !found {
		return
	}
	var held []string
	x.t.sessionKeys.Ascend(pair{id, ""}, func(p pair) bool {
		if p.a != id {
			return false
		}
		held = append(held, p.b)
		return true
	})
	// As Consul, a session keeps the LockDelay it was given and the delay
	// applied is capped here.
	delay := min(s.LockDelay, MaxLockDelay)
	for _, key := range held {
		if delay > 0 && !x.now.IsZero() {
			x.mut(bitLockDelays).lockDelays.Set(lockDelay{Key: key, Until: x.now.Add(delay)})
		}
		e, found := x.kvGet(key)
		if !found || e.Session != id {
			panic("store: session key index out of sync for " + key)
		}
		if s.Behavior == BehaviorDelete {
			x.kvDelete(key)
			continue
		}
		x.kvPut(&KVEntry{Key: key, CreateIndex: e.CreateIndex, LockIndex: e.LockIndex, Flags: e.Flags, Value: e.Value})
		x.mut(bitSessionKeys).sessionKeys.Delete(pair{id, key})
	}
	x.mut(bitSessions).sessions.Delete(s)
	x.mut(bitSessionsByNode).sessionsByNode.Delete(pair{s.Node, id})
	x.touch(tableSessions, topicSessions, id)
	x.changes = append(x.changes, change{topicSessionNode, s.Node})
}

// nodeSessionIDs returns the IDs of node's sessions, in ID order.
func (t *tables) nodeSessionIDs(node string) []string {
	var ids []string
	t.sessionsByNode.Ascend(pair{node, ""}, func(p pair) bool {
		if p.a != node {
			return false
		}
		ids = append(ids, p.b)
		return true
	})
	return ids
}

// invalidateCheckSessions destroys node's sessions linked to checkID (as a
// node check or a service check), in session ID order.
func (x *tx) invalidateCheckSessions(node, checkID string) {
	for _, id := range x.t.nodeSessionIDs(node) {
		s, _ := x.t.sessions.Get(&Session{ID: id})
		linked := slices.Contains(s.NodeChecks, checkID) ||
			slices.ContainsFunc(s.ServiceChecks, func(c ServiceCheck) bool { return c.ID == checkID })
		if linked {
			x.sessionDestroy(id)
		}
	}
}

// SessionGet returns session id, or nil. The index is the sessions table
// index (>= 1); ws watches this session only.
func (s *Store) SessionGet(ws *WatchSet, id string) (uint64, *Session) {
	t := s.view(ws, topicSessions, id, false)
	idx := atLeastOne(t.index[tableSessions])
	v, found := t.sessions.Get(&Session{ID: id})
	if !found {
		return idx, nil
	}
	cp := *v
	return idx, &cp
}

// SessionList returns every session in ID order; ws watches the table.
func (s *Store) SessionList(ws *WatchSet) (uint64, []*Session) {
	t := s.view(ws, topicSessions, "", true)
	var out []*Session
	t.sessions.Scan(func(v *Session) bool {
		cp := *v
		out = append(out, &cp)
		return true
	})
	return atLeastOne(t.index[tableSessions]), out
}

// NodeSessions returns node's sessions in ID order; ws watches that node's
// sessions only.
func (s *Store) NodeSessions(ws *WatchSet, node string) (uint64, []*Session) {
	t := s.view(ws, topicSessionNode, node, false)
	var out []*Session
	for _, id := range t.nodeSessionIDs(node) {
		v, _ := t.sessions.Get(&Session{ID: id})
		cp := *v
		out = append(out, &cp)
	}
	return atLeastOne(t.index[tableSessions]), out
}
