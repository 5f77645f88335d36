package swim

import (
	"cmp"
	"slices"
)

// broadcast is one queued update waiting to be piggybacked.
type broadcast struct {
	// key names what the update is about ("" for user events): a newer
	// update with the same key supersedes this one.
	key       string
	msg       []byte // one encoded message
	transmits int
	id        uint64 // queue order; larger is newer
	// leave marks the local node's leave message (Node.LeaveDone).
	leave bool
}

// broadcastQueue is memberlist's TransmitLimitedQueue: updates are handed
// out fewest-transmits first, newest first among equals, and dropped after
// retransmitLimit sends. It never holds two updates with the same key.
type broadcastQueue struct {
	items  []*broadcast
	byKey  map[string]*broadcast
	nextID uint64
	// leaveSent is set once the leave broadcast has left the queue: sent
	// its full retransmit count (memberlist notifies a leave's waiter on
	// Finished, not on first send: one send may go to a dead member), or
	// superseded or pruned.
	leaveSent bool
	// dropped counts updates pruned for space.
	dropped uint64
}

func (q *broadcastQueue) init() { q.byKey = make(map[string]*broadcast) }

// queue adds msg, superseding any update with the same non-empty key.
func (q *broadcastQueue) queue(key string, msg []byte, leave bool) {
	if old, ok := q.byKey[key]; ok && key != "" {
		q.remove(old)
	}
	q.nextID++
	b := &broadcast{key: key, msg: msg, id: q.nextID, leave: leave}
	q.items = append(q.items, b)
	if key != "" {
		q.byKey[key] = b
	}
}

func (q *broadcastQueue) remove(b *broadcast) {
	q.items = slices.DeleteFunc(q.items, func(x *broadcast) bool { return x == b })
	if b.key != "" && q.byKey[b.key] == b {
		delete(q.byKey, b.key)
	}
	if b.leave {
		// A superseded or pruned leave message cannot be waited on.
		q.leaveSent = true
	}
}

func (q *broadcastQueue) sort() {
	slices.SortFunc(q.items, func(a, b *broadcast) int {
		if c := cmp.Compare(a.transmits, b.transmits); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
}

// take hands out updates whose encodings, each with its compound length
// prefix, fit in budget bytes. limit is the retransmit limit.
func (q *broadcastQueue) take(budget, limit int) [][]byte {
	if len(q.items) == 0 || budget <= 0 {
		return nil
	}
	q.sort()
	var out [][]byte
	var spent []*broadcast
	for _, b := range q.items {
		cost := len(b.msg) + uvarintLen(uint64(len(b.msg)))
		if cost > budget {
			continue
		}
		budget -= cost
		out = append(out, b.msg)
		b.transmits++
		if b.transmits >= limit {
			spent = append(spent, b)
		}
		if budget < 8 { // no message is shorter
			break
		}
	}
	for _, b := range spent {
		q.remove(b)
	}
	return out
}

// prune drops the most-sent, oldest updates beyond max items.
func (q *broadcastQueue) prune(max int) {
	if len(q.items) <= max {
		return
	}
	q.sort()
	for _, b := range slices.Clone(q.items[max:]) {
		q.remove(b)
		q.dropped++
	}
}

func (q *broadcastQueue) len() int { return len(q.items) }
