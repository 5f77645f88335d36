package store

import (
	"testing"
	"time"
)

// t0 is the leader clock used by tests; lock-delay checks compare against
// the Now carried by commands, never a real clock.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// harness applies commands at increasing indexes.
type harness struct {
	t   testing.TB
	s   *Store
	idx uint64
	now time.Time
}

func newHarness(t testing.TB) *harness { return &harness{t: t, s: New(), now: t0} }

func (h *harness) apply(op Op) *Result {
	h.t.Helper()
	h.idx++
	return h.s.Apply(h.idx, EncodeCommand(h.now, op))
}

func (h *harness) ok(op Op) *Result {
	h.t.Helper()
	r := h.apply(op)
	if r.Err != nil || !r.OK {
		h.t.Fatalf("apply %T at %d: ok=%v err=%v", op, r.Index, r.OK, r.Err)
	}
	return r
}

func (h *harness) set(key, val string) uint64 {
	h.t.Helper()
	return h.ok(&KVOp{Verb: KVSet, Key: key, Value: []byte(val)}).Index
}

// node registers a node with a passing serfHealth check.
func (h *harness) node(name string) {
	h.t.Helper()
	h.ok(&Register{Node: Node{Node: name, Address: "10.0.0.1"},
		Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthPassing}}})
}

func (h *harness) session(id, node string, mod func(*Session)) {
	h.t.Helper()
	s := Session{ID: id, Node: node, LockDelay: 15 * time.Second}
	if mod != nil {
		mod(&s)
	}
	h.ok(&SessionCreate{Session: s})
}

func (h *harness) get(key string) *KVEntry {
	_, e := h.s.KVGet(nil, key)
	return e
}
