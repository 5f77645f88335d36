package store

import (
	"strings"
	"time"
)

// KV writes, with Consul's semantics (state_store kvs.go):
//
//	set         CreateIndex kept, LockIndex and Session kept (locks are advisory)
//	cas         Index 0: only if absent; else only if ModifyIndex == Index
//	lock        session must exist; fails if held by another session or within
//	            the key's lock-delay; a new holder bumps LockIndex
//	unlock      only by the holder; clears Session, keeps LockIndex
//	delete      leaves a tombstone; a missing key changes nothing
//	delete-cas  missing key: true (nothing to do); else only if ModifyIndex == Index
//	delete-tree one tombstone per deleted key

// kvWrite applies one write verb. ok is the client-visible outcome; err is
// a rejection (nothing changed).
func (x *tx) kvWrite(op *KVOp) (ok bool, err error) {
	switch op.Verb {
	case KVSet:
		x.kvSet(op)
		return true, nil
	case KVCAS:
		if !x.casMatches(op.Key, op.Index) {
			return false, nil
		}
		x.kvSet(op)
		return true, nil
	case KVLock:
		return x.kvLock(op)
	case KVUnlock:
		if op.Session == "" {
			return false, rejected("missing session") // as Consul's kvsUnlockTxn
		}
		return x.kvUnlock(op), nil
	case KVDelete:
		x.kvDelete(op.Key)
		return true, nil
	case KVDeleteTree:
		x.kvDeleteTree(op.Key)
		return true, nil
	case KVDeleteCAS:
		e, found := x.t.kv.Get(&KVEntry{Key: op.Key})
		if !found {
			return true, nil
		}
		if e.ModifyIndex != op.Index {
			return false, nil
		}
		x.kvDelete(op.Key)
		return true, nil
	}
	return false, rejected("verb %v is not a KV write", op.Verb)
}

func (x *tx) kvGet(key string) (*KVEntry, bool) { return x.t.kv.Get(&KVEntry{Key: key}) }

func (x *tx) casMatches(key string, index uint64) bool {
	e, found := x.kvGet(key)
	if index == 0 {
		return !found
	}
	return found && e.ModifyIndex == index
}

// kvPut inserts a row for key written at this tx's index.
func (x *tx) kvPut(e *KVEntry) {
	e.ModifyIndex = x.index
	x.mut(bitKV).kv.Set(e)
	x.touch(tableKV, topicKV, e.Key)
}

func (x *tx) kvSet(op *KVOp) {
	e := &KVEntry{Key: op.Key, CreateIndex: x.index, Flags: op.Flags, Value: op.Value}
	if old, found := x.kvGet(op.Key); found {
		e.CreateIndex, e.LockIndex, e.Session = old.CreateIndex, old.LockIndex, old.Session
	}
	x.kvPut(e)
}

func (x *tx) kvLock(op *KVOp) (bool, error) {
	if op.Session == "" {
		return false, rejected("missing session")
	}
	if _, found := x.t.sessions.Get(&Session{ID: op.Session}); !found {
		return false, rejected("invalid session %q", op.Session)
	}
	if d, found := x.t.lockDelays.Get(lockDelay{Key: op.Key}); found {
		if x.now.Before(d.Until) {
			return false, nil
		}
		// Expired: forget it, so the table only holds live delays.
		x.mut(bitLockDelays).lockDelays.Delete(d)
	}
	e := &KVEntry{Key: op.Key, CreateIndex: x.index, LockIndex: 1, Flags: op.Flags, Value: op.Value, Session: op.Session}
	if old, found := x.kvGet(op.Key); found {
		switch old.Session {
		case op.Session:
			e.LockIndex = old.LockIndex // re-acquire by the holder
		case "":
			e.LockIndex = old.LockIndex + 1
		default:
			return false, nil
		}
		e.CreateIndex = old.CreateIndex
	}
	x.kvPut(e)
	x.mut(bitSessionKeys).sessionKeys.Set(pair{op.Session, op.Key})
	return true, nil
}

func (x *tx) kvUnlock(op *KVOp) bool {
	old, found := x.kvGet(op.Key)
	if !found || old.Session == "" || old.Session != op.Session {
		return false
	}
	x.kvPut(&KVEntry{Key: op.Key, CreateIndex: old.CreateIndex, LockIndex: old.LockIndex, Flags: op.Flags, Value: op.Value})
	x.mut(bitSessionKeys).sessionKeys.Delete(pair{op.Session, op.Key})
	return true
}

// kvDelete removes key, leaving a tombstone; a missing key changes nothing.
func (x *tx) kvDelete(key string) {
	old, found := x.mut(bitKV).kv.Delete(&KVEntry{Key: key})
	if !found {
		return
	}
	if old.Session != "" {
		x.mut(bitSessionKeys).sessionKeys.Delete(pair{old.Session, key})
	}
	x.mut(bitTombstones).tombstones.Set(tombstone{Key: key, Index: x.index})
	x.t.index[tableTombstones] = x.index
	x.touch(tableKV, topicKV, key)
}

func (x *tx) kvDeleteTree(prefix string) {
	var keys []string
	ascendPrefix(x.t.kv, &KVEntry{Key: prefix}, kvKey, prefix, func(e *KVEntry) bool {
		keys = append(keys, e.Key)
		return true
	})
	for _, k := range keys {
		x.kvDelete(k)
	}
}

// reap removes tombstones with Index <= index, and lock delays already over
// at the command's time (bounded table; deterministic since now is the
// leader's).
func (x *tx) reap(index uint64) {
	var dead []tombstone
	x.t.tombstones.Scan(func(t tombstone) bool {
		if t.Index <= index {
			dead = append(dead, t)
		}
		return true
	})
	if len(dead) > 0 {
		g := x.mut(bitTombstones).tombstones
		for _, t := range dead {
			g.Delete(t)
		}
		x.t.index[tableTombstones] = x.index
	}
	var expired []lockDelay
	x.t.lockDelays.Scan(func(d lockDelay) bool {
		if !x.now.Before(d.Until) {
			expired = append(expired, d)
		}
		return true
	})
	for _, d := range expired {
		x.mut(bitLockDelays).lockDelays.Delete(d)
	}
}

// KVGet returns the entry at key, or nil. The index is the entry's
// ModifyIndex, or the KV table index (tombstones included) when missing;
// always >= 1. ws watches exactly this key.
func (s *Store) KVGet(ws *WatchSet, key string) (uint64, *KVEntry) {
	t := s.view(ws, topicKV, key, false)
	e, found := t.kv.Get(&KVEntry{Key: key})
	if !found {
		return atLeastOne(t.tableIndex(tableKV, tableTombstones)), nil
	}
	cp := *e
	return atLeastOne(e.ModifyIndex), &cp
}

// KVList returns the entries under prefix in key order ("" = all). The
// index is the largest ModifyIndex under the prefix or tombstone index under
// it, or the table index when both are absent; always >= 1. ws watches the
// prefix.
func (s *Store) KVList(ws *WatchSet, prefix string) (uint64, []*KVEntry) {
	t := s.view(ws, topicKV, prefix, true)
	var out []*KVEntry
	var idx uint64
	ascendPrefix(t.kv, &KVEntry{Key: prefix}, kvKey, prefix, func(e *KVEntry) bool {
		cp := *e
		out = append(out, &cp)
		idx = max(idx, e.ModifyIndex)
		return true
	})
	return t.prefixIndex(prefix, idx), out
}

// KVKeys returns the keys under prefix; with a separator, keys are cut
// after the first separator following the prefix and de-duplicated (Consul's
// ?keys&separator). Index and watch as KVList.
func (s *Store) KVKeys(ws *WatchSet, prefix, separator string) (uint64, []string) {
	t := s.view(ws, topicKV, prefix, true)
	var keys []string
	var idx uint64
	last := ""
	ascendPrefix(t.kv, &KVEntry{Key: prefix}, kvKey, prefix, func(e *KVEntry) bool {
		idx = max(idx, e.ModifyIndex)
		k := e.Key
		if separator != "" {
			if i := strings.Index(k[len(prefix):], separator); i >= 0 {
				k = k[:len(prefix)+i+len(separator)]
			}
		}
		if len(keys) == 0 || k != last {
			keys = append(keys, k)
			last = k
		}
		return true
	})
	return t.prefixIndex(prefix, idx), keys
}

// prefixIndex is Consul's kvsListTxn index rule given the largest live
// ModifyIndex under prefix.
func (t *tables) prefixIndex(prefix string, live uint64) uint64 {
	idx := live
	if prefix == "" {
		idx = t.tableIndex(tableKV, tableTombstones)
	} else {
		ascendPrefix(t.tombstones, tombstone{Key: prefix}, tombKey, prefix, func(g tombstone) bool {
			idx = max(idx, g.Index)
			return true
		})
	}
	if idx == 0 {
		idx = t.tableIndex(tableKV, tableTombstones)
	}
	return atLeastOne(idx)
}

// KVTableIndex is the index of the last KV change (writes, deletes,
// tombstone reaps); always >= 1.
func (s *Store) KVTableIndex() uint64 {
	return atLeastOne(s.state.Load().tableIndex(tableKV, tableTombstones))
}

// KVLockDelay returns the time (leader clock) before which key cannot be
// acquired; the zero Time when there is no delay.
func (s *Store) KVLockDelay(key string) time.Time {
	d, _ := s.state.Load().lockDelays.Get(lockDelay{Key: key})
	return d.Until
}

// Tombstones returns the number of tombstones in the graveyard and the
// largest deletion index among them (for the leader's reaper and metrics).
func (s *Store) Tombstones() (count int, maxIndex uint64) {
	t := s.state.Load()
	t.tombstones.Scan(func(g tombstone) bool {
		maxIndex = max(maxIndex, g.Index)
		return true
	})
	return t.tombstones.Len(), maxIndex
}
