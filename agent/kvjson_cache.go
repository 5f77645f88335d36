package agent

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"sync/atomic"

	"github.com/agentd/agentd/store"
)

// kvJSONCache keeps the JSON answer of a single-key GET for a few recent
// entries, so that the watchers one write wakes together (10,000 on one
// key) share one encoding instead of each base64-ing the value again. A
// hit needs an equal entry — every field and the value's bytes — so it
// can never serve a stale or foreign answer (not even after a snapshot
// restore reuses indexes). Lock-free: a slot per key hash, last writer
// wins.
type kvJSONCache struct {
	slots [kvJSONSlots]atomic.Pointer[kvJSON]
}

const (
	kvJSONSlots    = 64
	kvJSONMaxValue = 4 << 10 // larger values are encoded each time, not pinned
)

type kvJSON struct {
	e    store.KVEntry // Value shared with the store (read-only there too)
	json []byte        // json.Marshal([]kvPair{toKVPair(&e)}); never mutated
}

var kvJSONSeed = maphash.MakeSeed()

// encode returns json.Marshal([]kvPair{toKVPair(e)}), shared: callers must
// not modify it.
func (c *kvJSONCache) encode(e *store.KVEntry) ([]byte, error) {
	if len(e.Value) > kvJSONMaxValue {
		return json.Marshal([]kvPair{toKVPair(e)})
	}
	slot := &c.slots[maphash.String(kvJSONSeed, e.Key)%kvJSONSlots]
	if x := slot.Load(); x != nil && sameKVEntry(&x.e, e) {
		return x.json, nil
	}
	b, err := json.Marshal([]kvPair{toKVPair(e)})
	if err != nil {
		return nil, err
	}
	slot.Store(&kvJSON{e: *e, json: b})
	return b, nil
}

// sameKVEntry: equal fields and value bytes, and both values nil or both
// not (null and "" encode differently).
func sameKVEntry(a, b *store.KVEntry) bool {
	return a.Key == b.Key && a.CreateIndex == b.CreateIndex && a.ModifyIndex == b.ModifyIndex &&
		a.LockIndex == b.LockIndex && a.Flags == b.Flags && a.Session == b.Session &&
		(a.Value == nil) == (b.Value == nil) && bytes.Equal(a.Value, b.Value)
}
