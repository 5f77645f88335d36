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

// kvGetShape is what a single-key GET's answer depends on besides its
// meta and the Date: the key, ?raw, and the entry the last read found
// (a pointer to the query's own variable). Every watcher of one key woken
// by one write has the same, so one answerer renders the answer once and
// writes the same bytes to each (wireCache).
type kvGetShape struct {
	key string
	raw bool
	ent **store.KVEntry
}

// wireCache is an answerer's last shared answer: its wire bytes and
// everything they were made of. A hit needs all of it equal, the entry
// field by field (sameKVEntry), so it can never send another query's
// answer or a stale one.
type wireCache struct {
	key   string
	raw   bool
	meta  queryMeta
	sec   int64 // the Date header's second
	ent   store.KVEntry
	found bool   // the read found the key (ent is set)
	wire  []byte // never mutated once stored; nil: empty
}

// wireCacheMax bounds the answers kept (larger ones are rendered each
// time, not pinned).
const wireCacheMax = 16 << 10

func (w *wireCache) get(s *kvGetShape, meta queryMeta, sec int64) []byte {
	if w.wire == nil || w.key != s.key || w.raw != s.raw || w.meta != meta || w.sec != sec {
		return nil
	}
	e := *s.ent
	if (e != nil) != w.found || (e != nil && !sameKVEntry(&w.ent, e)) {
		return nil
	}
	return w.wire
}

func (w *wireCache) put(s *kvGetShape, meta queryMeta, sec int64, wire []byte) {
	if len(wire) > wireCacheMax {
		*w = wireCache{}
		return
	}
	*w = wireCache{key: s.key, raw: s.raw, meta: meta, sec: sec, wire: wire}
	if e := *s.ent; e != nil {
		w.ent, w.found = *e, true
	}
}
