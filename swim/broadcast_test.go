package swim

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func msgOf(s string) []byte { return []byte(s + "--------") } // ≥ 8 bytes

func TestBroadcastQueueOrderAndLimit(t *testing.T) {
	var q broadcastQueue
	q.init()
	q.queue("a", msgOf("a1"), false)
	q.queue("b", msgOf("b1"), false)
	q.queue("c", msgOf("c1"), false)
	// Newest first among equal transmit counts.
	got := q.take(1400, 2)
	if len(got) != 3 || !bytes.Equal(got[0], msgOf("c1")) || !bytes.Equal(got[2], msgOf("a1")) {
		t.Fatalf("first take %q", got)
	}
	q.queue("d", msgOf("d1"), false)
	// Fewest transmits first: d (0) before the others (1).
	got = q.take(1400, 2)
	if !bytes.Equal(got[0], msgOf("d1")) {
		t.Fatalf("second take starts with %q, want d1", got[0])
	}
	// a, b, c reached the limit of 2 and are gone; d has one left.
	if q.len() != 1 {
		t.Fatalf("queue len %d, want 1", q.len())
	}
	q.take(1400, 2)
	if q.len() != 0 {
		t.Fatalf("queue len %d, want 0", q.len())
	}
}

func TestBroadcastQueueSupersedes(t *testing.T) {
	var q broadcastQueue
	q.init()
	q.queue("x", msgOf("x-old"), false)
	q.queue("x", msgOf("x-new"), false)
	q.queue("", msgOf("ev1"), false)
	q.queue("", msgOf("ev2"), false) // unkeyed: both kept
	if q.len() != 3 {
		t.Fatalf("len %d, want 3", q.len())
	}
	for _, m := range q.take(1400, 5) {
		if bytes.Equal(m, msgOf("x-old")) {
			t.Fatal("superseded update handed out")
		}
	}
}

func TestBroadcastQueueBudgetAndPrune(t *testing.T) {
	var q broadcastQueue
	q.init()
	for i := range 10 {
		q.queue(string(rune('a'+i)), bytes.Repeat([]byte{byte(i)}, 100), false)
	}
	got := q.take(350, 10) // 101 bytes each with the length prefix
	if len(got) != 3 {
		t.Fatalf("took %d within 350 bytes, want 3", len(got))
	}
	q.prune(4)
	if q.len() != 4 || q.dropped != 6 {
		t.Fatalf("after prune len %d dropped %d, want 4/6", q.len(), q.dropped)
	}
	// The never-sent, newest ones survive.
	for _, b := range q.items {
		if b.transmits != 0 {
			t.Errorf("prune kept a sent update %q over unsent ones", b.key)
		}
	}
}

func TestBroadcastQueueBoundedInNode(t *testing.T) {
	n := solo(t)
	n.cfg.MinBroadcastQueue = 16
	for i := range 100 {
		feed(n, epoch, &alive{Inc: 1, Node: string(rune('A' + i)), Addr: "h:1"})
	}
	if limit := max(16, 2*len(n.order)); n.bq.len() > limit {
		t.Fatalf("queue %d > bound %d", n.bq.len(), limit)
	}
	// A lone node: the floor MinBroadcastQueue is the bound.
	n = solo(t)
	n.cfg.MinBroadcastQueue = 8
	for i := range 50 {
		n.UserEvent(epoch, "e", []byte{byte(i)}, false, nil)
	}
	if n.bq.len() != 8 || n.Stats().BroadcastsPruned != 43 {
		t.Fatalf("queue %d, pruned %d; want 8, 43", n.bq.len(), n.Stats().BroadcastsPruned)
	}
}

func TestUserEventDedup(t *testing.T) {
	ev := func(lt LamportTime, name, payload string) *userEventMsg {
		return &userEventMsg{UserEvent{LTime: lt, Name: name, Payload: []byte(payload)}}
	}
	n := solo(t)
	feed(n, epoch, ev(5, "a", "p"), ev(5, "a", "p"), ev(5, "a", "q"), ev(5, "b", "p"), ev(6, "a", "p"))
	if got := len(n.Ready().Events); got != 4 {
		t.Errorf("delivered %d, want 4 (one duplicate)", got)
	}
	if n.userEvents.clock != 7 {
		t.Errorf("clock %d, want 7 (witnessed 6)", n.userEvents.clock)
	}
	// Far beyond the buffer: old events are dropped as possibly seen.
	feed(n, epoch, ev(10_000, "late", ""))
	n.Ready()
	feed(n, epoch, ev(5, "a", "new"))
	if got := len(n.Ready().Events); got != 0 {
		t.Errorf("accepted an event older than the buffer")
	}
	// Our own events carry increasing Lamport times.
	n.UserEvent(epoch, "mine", nil, false, nil)
	n.UserEvent(epoch, "mine", nil, false, nil)
	r := n.Ready()
	if len(r.Events) != 2 || r.Events[1].User.LTime != r.Events[0].User.LTime+1 {
		t.Errorf("own events %+v", r.Events)
	}
	if err := n.UserEvent(epoch, "big", make([]byte, 600), false, nil); err == nil {
		t.Error("accepted an event over MaxUserEventBytes")
	}
}

// Acks carry piggybacked updates.
func TestAckPiggybacks(t *testing.T) {
	n := solo(t)
	feed(n, epoch, &alive{Inc: 1, Node: "x", Addr: "x:1"})
	n.Ready()
	feed(n, epoch, &ping{Seq: 9, Target: "me", SourceName: "x", SourceAddr: "x:1"})
	r := n.Ready()
	if len(r.Packets) != 1 || r.Packets[0].To != "x:1" {
		t.Fatalf("packets %+v", r.Packets)
	}
	m, _ := decode(r.Packets[0].Payload)
	c, ok := m.(*compound)
	if !ok || len(c.Parts) < 2 {
		t.Fatalf("ack not piggybacked: %#v", m)
	}
	if a, _ := decodePart(c.Parts[0]); a.(*ack).Seq != 9 {
		t.Errorf("first part %#v, want ack 9", a)
	}
	// A ping for another name is not acked.
	feed(n, epoch, &ping{Seq: 10, Target: "other", SourceAddr: "x:1"})
	if len(n.Ready().Packets) != 0 || n.Stats().Dropped != 1 {
		t.Error("acked a ping meant for another member")
	}
}

// The queue keeps its hand-out order without sorting: after any mix of
// queues, takes and prunes, items are in (transmits ascending, id
// descending) order, hold no key twice, and byKey indexes exactly the
// keyed items.
func TestBroadcastQueueStaysOrdered(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q broadcastQueue
	q.init()
	for step := range 5000 {
		switch r.IntN(4) {
		case 0, 1:
			key := ""
			if r.IntN(5) != 0 {
				key = string(rune('a' + r.IntN(40)))
			}
			q.queue(key, bytes.Repeat([]byte{1}, 8+r.IntN(120)), false)
		case 2:
			q.take(r.IntN(1400), 1+r.IntN(6))
		case 3:
			q.prune(r.IntN(60))
		}
		keyed := 0
		for i, b := range q.items {
			if i > 0 && !before(q.items[i-1], b) {
				t.Fatalf("step %d: items %d (tx %d id %d) and %d (tx %d id %d) out of order",
					step, i-1, q.items[i-1].transmits, q.items[i-1].id, i, b.transmits, b.id)
			}
			if b.key != "" {
				keyed++
				if q.byKey[b.key] != b {
					t.Fatalf("step %d: byKey[%q] is not the queued item", step, b.key)
				}
			}
		}
		if keyed != len(q.byKey) {
			t.Fatalf("step %d: %d keyed items, byKey has %d", step, keyed, len(q.byKey))
		}
	}
}
