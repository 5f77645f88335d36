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
//
// Invariant: items is sorted in hand-out order (transmits ascending, id
// descending), kept so by each operation in linear time; sorting on every
// take was the simulator's hot spot in pools of 1000 during a join storm.
type broadcastQueue struct {
	items []*broadcast
	// take's scratch: the items handed out, and the other buffer it
	// merges into (the two swap).
	taken, spare []*broadcast
	byKey        map[string]*broadcast
	nextID       uint64
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
	// No transmits and the newest id: it goes first.
	q.items = slices.Insert(q.items, 0, b)
	if key != "" {
		q.byKey[key] = b
	}
}

func (q *broadcastQueue) remove(b *broadcast) {
	q.items = slices.DeleteFunc(q.items, func(x *broadcast) bool { return x == b })
	q.forget(b)
}

// forget drops b's key and leave bookkeeping once it has left items.
func (q *broadcastQueue) forget(b *broadcast) {
	if b.key != "" && q.byKey[b.key] == b {
		delete(q.byKey, b.key)
	}
	if b.leave {
		// A superseded or pruned leave message cannot be waited on.
		q.leaveSent = true
	}
}

// before reports whether a is handed out before b.
func before(a, b *broadcast) bool {
	if c := cmp.Compare(a.transmits, b.transmits); c != 0 {
		return c < 0
	}
	return a.id > b.id
}

// take hands out updates whose encodings, each with its compound length
// prefix, fit in budget bytes. limit is the retransmit limit.
func (q *broadcastQueue) take(budget, limit int) [][]byte {
	if len(q.items) == 0 || budget <= 0 {
		return nil
	}
	var out [][]byte
	taken := q.taken[:0]
	for _, b := range q.items {
		cost := len(b.msg) + uvarintLen(uint64(len(b.msg)))
		if cost > budget {
			continue
		}
		budget -= cost
		out = append(out, b.msg)
		taken = append(taken, b)
		if budget < 8 { // no message is shorter
			break
		}
	}
	// The taken items, and the rest, are each still in order after one
	// more transmit for the taken: merge the two runs back, dropping the
	// spent ones.
	if len(taken) == 0 {
		return out
	}
	old := q.items
	rest := old[:0] // filtered in place
	i := 0
	for _, b := range old {
		if i < len(taken) && taken[i] == b {
			i++
			continue
		}
		rest = append(rest, b)
	}
	merged := q.spare[:0]
	j := 0
	for _, b := range taken {
		b.transmits++
		if b.transmits >= limit {
			q.forget(b)
			continue
		}
		for j < len(rest) && before(rest[j], b) {
			merged = append(merged, rest[j])
			j++
		}
		merged = append(merged, b)
	}
	merged = append(merged, rest[j:]...)
	clear(taken)
	q.taken = taken[:0]
	clear(old)
	q.items, q.spare = merged, old[:0]
	return out
}

// prune drops the most-sent, oldest updates beyond max items.
func (q *broadcastQueue) prune(max int) {
	if len(q.items) <= max {
		return
	}
	for _, b := range q.items[max:] {
		q.forget(b)
		q.dropped++
	}
	clear(q.items[max:])
	q.items = q.items[:max]
}

func (q *broadcastQueue) len() int { return len(q.items) }
