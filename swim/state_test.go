package swim

import (
	"testing"
	"time"
)

// solo is one node fed messages by hand.
func solo(t *testing.T) *Node {
	t.Helper()
	n, err := New(testConfig("me", newTestRand(1)), epoch)
	if err != nil {
		t.Fatal(err)
	}
	n.Ready()
	return n
}

func feed(n *Node, at time.Time, ms ...message) {
	for _, m := range ms {
		n.HandlePacket(at, "peer:1", encode(m))
	}
}

func eventTypes(r Ready) []EventType {
	var out []EventType
	for _, e := range r.Events {
		out = append(out, e.Type)
	}
	return out
}

// The SWIM/memberlist precedence rules, one transition per case.
func TestPrecedence(t *testing.T) {
	x := func(inc Incarnation) *alive { return &alive{Inc: inc, Node: "x", Addr: "x:1"} }
	susp := func(inc Incarnation) *suspect { return &suspect{Inc: inc, Node: "x", From: "y"} }
	die := func(inc Incarnation) *dead { return &dead{Inc: inc, Node: "x", From: "y"} }
	leave := func(inc Incarnation) *dead { return &dead{Inc: inc, Node: "x", From: "x"} }
	tests := []struct {
		name      string
		setup     []message
		msg       message
		wantState State
		wantInc   Incarnation
		wantEv    []EventType
	}{
		{"new member joins", nil, x(3), StateAlive, 3, []EventType{EventJoin}},
		{"newer alive", []message{x(3)}, x(4), StateAlive, 4, nil},
		{"same alive ignored", []message{x(3)}, x(3), StateAlive, 3, nil},
		{"older alive ignored", []message{x(3)}, x(2), StateAlive, 3, nil},
		{"suspect same inc", []message{x(3)}, susp(3), StateSuspect, 3, nil},
		{"suspect higher inc", []message{x(3)}, susp(5), StateSuspect, 5, nil},
		{"suspect older ignored", []message{x(3)}, susp(2), StateAlive, 3, nil},
		{"alive same inc does not clear suspect", []message{x(3), susp(3)}, x(3), StateSuspect, 3, nil},
		{"refutation clears suspect", []message{x(3), susp(3)}, x(4), StateAlive, 4, nil},
		{"dead over alive", []message{x(3)}, die(3), StateDead, 3, []EventType{EventFail}},
		{"dead over suspect", []message{x(3), susp(3)}, die(3), StateDead, 3, []EventType{EventFail}},
		{"older dead ignored", []message{x(3)}, die(2), StateAlive, 3, nil},
		{"stale alive does not override dead", []message{x(3), die(3)}, x(3), StateDead, 3, nil},
		{"older alive does not override dead", []message{x(3), die(3)}, x(1), StateDead, 3, nil},
		{"newer alive revives dead", []message{x(3), die(3)}, x(4), StateAlive, 4, []EventType{EventJoin}},
		{"suspect does not override dead", []message{x(3), die(3)}, susp(4), StateDead, 3, nil},
		{"leave over alive", []message{x(3)}, leave(3), StateLeft, 3, []EventType{EventLeave}},
		{"force-leave over dead", []message{x(3), die(3)}, leave(3), StateLeft, 3, []EventType{EventLeave}},
		{"dead does not override left", []message{x(3), leave(3)}, die(4), StateLeft, 3, nil},
		{"newer alive revives left", []message{x(3), leave(3)}, x(4), StateAlive, 4, []EventType{EventJoin}},
		{"tag change is an update", []message{x(3)}, &alive{Inc: 4, Node: "x", Addr: "x:1", Tags: map[string]string{"a": "b"}}, StateAlive, 4, []EventType{EventUpdate}},
		{"unknown suspect ignored", nil, susp(1), 0, 0, nil},
		{"unknown dead ignored", nil, die(1), 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := solo(t)
			feed(n, epoch, tt.setup...)
			n.Ready()
			feed(n, epoch, tt.msg)
			got := eventTypes(n.Ready())
			m, ok := n.Member("x")
			if tt.wantState == 0 && tt.wantInc == 0 && tt.setup == nil {
				if _, isAlive := tt.msg.(*alive); !isAlive {
					if ok {
						t.Fatalf("claim about an unknown member created %+v", m)
					}
					return
				}
			}
			if m.State != tt.wantState || m.Incarnation != tt.wantInc {
				t.Errorf("x = %v@%d, want %v@%d", m.State, m.Incarnation, tt.wantState, tt.wantInc)
			}
			if len(got) != len(tt.wantEv) || (len(got) > 0 && got[0] != tt.wantEv[0]) {
				t.Errorf("events %v, want %v", got, tt.wantEv)
			}
		})
	}
}

// Accusations about ourselves are refuted with a higher incarnation, which
// also costs a point of health (Lifeguard §4.1).
func TestRefuteSelf(t *testing.T) {
	tests := []struct {
		name    string
		msg     message
		wantInc Incarnation
	}{
		{"suspect", &suspect{Inc: 0, Node: "me", From: "y"}, 1},
		{"suspect ahead of us", &suspect{Inc: 7, Node: "me", From: "y"}, 8},
		{"dead", &dead{Inc: 2, Node: "me", From: "y"}, 3},
		{"left we did not send", &dead{Inc: 0, Node: "me", From: "me"}, 1},
		{"alive with other tags at our incarnation", &alive{Inc: 0, Node: "me", Addr: "me:7946", Tags: map[string]string{"old": "life"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := solo(t)
			feed(n, epoch, tt.msg)
			me := n.LocalMember()
			if me.State != StateAlive || me.Incarnation != tt.wantInc {
				t.Errorf("self %v@%d, want alive@%d", me.State, me.Incarnation, tt.wantInc)
			}
			if n.Health() != 1 || n.Stats().Refutations != 1 {
				t.Errorf("health %d refutations %d, want 1/1", n.Health(), n.Stats().Refutations)
			}
			// The refutation is queued for dissemination.
			parts := n.bq.take(1400, 10)
			found := false
			for _, p := range parts {
				if m, _ := decode(p); m != nil {
					if a, ok := m.(*alive); ok && a.Node == "me" && a.Inc == tt.wantInc {
						found = true
					}
				}
			}
			if !found {
				t.Error("no alive broadcast for the refutation")
			}
		})
	}
	n := solo(t)
	feed(n, epoch, &alive{Inc: 0, Node: "me", Addr: "me:7946"})
	if n.Stats().Refutations != 0 {
		t.Error("refuted an accurate alive about ourselves")
	}
}

func TestNameConflictAndReclaim(t *testing.T) {
	n := solo(t)
	feed(n, epoch, &alive{Inc: 1, Node: "x", Addr: "x:1"})
	n.Ready()
	feed(n, epoch, &alive{Inc: 5, Node: "x", Addr: "x:2"})
	if m, _ := n.Member("x"); m.Addr != "x:1" || m.Incarnation != 1 || n.Stats().Conflicts != 1 {
		t.Fatalf("live member moved address: %+v conflicts=%d", m, n.Stats().Conflicts)
	}
	feed(n, epoch, &alive{Inc: 5, Node: "me", Addr: "elsewhere:1"})
	if n.LocalMember().Addr != "me:7946" || n.Stats().Conflicts != 2 {
		t.Fatal("our own name was taken over")
	}
	feed(n, epoch, &dead{Inc: 1, Node: "x", From: "y"})
	feed(n, epoch.Add(10*time.Second), &alive{Inc: 0, Node: "x", Addr: "x:2"})
	if m, _ := n.Member("x"); m.Addr != "x:1" || m.State != StateDead || n.Stats().Conflicts != 3 {
		t.Fatalf("reclaimed before DeadNodeReclaimTime: %+v", m)
	}
	n.Ready()
	feed(n, epoch.Add(31*time.Second), &alive{Inc: 0, Node: "x", Addr: "x:2"})
	if m, _ := n.Member("x"); m.Addr != "x:2" || m.State != StateAlive || m.Incarnation != 0 {
		t.Fatalf("not reclaimed after DeadNodeReclaimTime: %+v", m)
	}
	if ev := eventTypes(n.Ready()); len(ev) != 1 || ev[0] != EventJoin {
		t.Errorf("events %v, want [join]", ev)
	}
}

func TestForceLeave(t *testing.T) {
	n := solo(t)
	feed(n, epoch, &alive{Inc: 2, Node: "x", Addr: "x:1"}, &dead{Inc: 2, Node: "x", From: "y"})
	n.Ready()
	if err := n.ForceLeave(epoch, "x"); err != nil {
		t.Fatal(err)
	}
	if m, _ := n.Member("x"); m.Status != StatusLeft {
		t.Errorf("status %v, want left", m.Status)
	}
	if err := n.ForceLeave(epoch, "nobody"); err == nil {
		t.Error("force-leave of an unknown member succeeded")
	}
	if err := n.ForceLeave(epoch, "me"); err == nil {
		t.Error("force-leave of ourselves succeeded")
	}
}

// The suspicion timer: max with no confirmations, shrinking toward min
// as distinct members confirm (Lifeguard §4.2).
func TestSuspicionShrinksWithConfirmations(t *testing.T) {
	n := solo(t)
	for _, name := range []string{"a", "b", "c", "x"} {
		feed(n, epoch, &alive{Inc: 1, Node: name, Addr: name + ":1"})
	}
	// N=5: k=2, min=4s, max=24s.
	feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "a"})
	if got := n.members["x"].susp.deadline; !got.Equal(epoch.Add(24 * time.Second)) {
		t.Fatalf("deadline %v, want +24s", got.Sub(epoch))
	}
	feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "a"}) // same accuser
	feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "b"})
	if got := n.members["x"].susp.deadline.Sub(epoch); got != 11381*time.Millisecond {
		t.Fatalf("after one confirmation %v, want 11.381s", got)
	}
	feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "c"})
	if got := n.members["x"].susp.deadline.Sub(epoch); got != 4*time.Second {
		t.Fatalf("after two confirmations %v, want 4s", got)
	}
	if got := n.NextDeadline(); got.After(epoch.Add(4 * time.Second)) {
		t.Errorf("NextDeadline %v does not include the suspicion", got.Sub(epoch))
	}
	n.Ready()
	n.Tick(epoch.Add(4*time.Second - 1))
	if m, _ := n.Member("x"); m.State != StateSuspect {
		t.Fatal("declared dead early")
	}
	n.Tick(epoch.Add(4 * time.Second))
	// Fully confirmed (k = 2): dead at the deadline, though we only heard
	// of it.
	if m, _ := n.Member("x"); m.State != StateDead {
		t.Fatalf("x %v at the deadline, want dead", m.State)
	}
}

// runSilent ticks n at each deadline up to until, answering nothing, and
// reports whether a datagram went to member x (at x:1) and when x was
// declared dead (zero if not); it stops there.
func runSilent(n *Node, until time.Time) (pinged bool, deadAt time.Time) {
	for d := n.NextDeadline(); !d.After(until); d = n.NextDeadline() {
		n.Tick(d)
		for _, p := range n.Ready().Packets {
			pinged = pinged || p.To == "x:1"
		}
		if m, _ := n.Member("x"); m.State == StateDead {
			return pinged, d
		}
	}
	return pinged, time.Time{}
}

// A suspicion whose timer ran out on hearsay from fewer than k+1
// accusers: the member is probed next, and an answer (with or without its
// refutation) keeps it alive; only a silent member is declared dead,
// within two probe periods of the deadline. A suspicion backed by our own
// failed probe is declared at the deadline.
func TestSuspicionVerifiedBeforeDeath(t *testing.T) {
	tests := []struct {
		name      string
		firstHand bool // our own probe already failed during the suspicion
		answer    bool // x acks the verification probe
		refute    bool // ... and its refutation rides on the ack
		want      State
	}{
		{"first hand: dead at the deadline", true, false, false, StateDead},
		{"hearsay, silent: dead", false, false, false, StateDead},
		{"hearsay, answers with refutation: alive", false, true, true, StateAlive},
		{"hearsay, answers without refutation: timer restarts", false, true, false, StateSuspect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := solo(t)
			for _, name := range []string{"a", "b", "c", "x"} {
				feed(n, epoch, &alive{Inc: 1, Node: name, Addr: name + ":1"})
			}
			feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "a"})
			n.members["x"].susp.firstHand = tt.firstHand
			deadline := n.members["x"].susp.deadline // 24 s: no confirmations
			n.Ready()
			n.Tick(deadline)
			if tt.firstHand {
				if m, _ := n.Member("x"); m.State != tt.want {
					t.Fatalf("x %v at the deadline, want %v", m.State, tt.want)
				}
				return
			}
			if m, _ := n.Member("x"); m.State != StateSuspect {
				t.Fatalf("x %v at the deadline on hearsay, want still suspect", m.State)
			}
			if !tt.answer {
				pinged, at := runSilent(n, deadline.Add(30*time.Second))
				if !pinged {
					t.Fatal("x not probed")
				}
				if m, _ := n.Member("x"); m.State != tt.want {
					t.Fatalf("x %v, want %v", m.State, tt.want)
				}
				// A period is scaled by the awareness score, which only
				// rose here (no acks), so its final value bounds it.
				period := time.Duration(n.Health()+1) * n.cfg.ProbeInterval
				if late := at.Sub(deadline); late > 2*period {
					t.Errorf("declared dead %v after the deadline, want <= 2 probe periods of %v", late, period)
				}
				return
			}
			// Tick until the verification ping to x goes out, then ack it.
			var seq uint32
			for d := n.NextDeadline(); seq == 0 && d.Before(deadline.Add(3*time.Second)); d = n.NextDeadline() {
				n.Tick(d)
				for _, p := range n.Ready().Packets {
					if p.To == "x:1" {
						seq = pingSeq(t, p.Payload)
					}
					if seq != 0 {
						break
					}
				}
			}
			if seq == 0 {
				t.Fatal("x not probed")
			}
			now := n.now
			parts := [][]byte{encode(&ack{Seq: seq})}
			if tt.refute {
				parts = append(parts, encode(&alive{Inc: 2, Node: "x", Addr: "x:1"}))
			}
			n.HandlePacket(now, "x:1", encode(&compound{Parts: parts}))
			m, _ := n.Member("x")
			if m.State != tt.want {
				t.Fatalf("x %v after the ack, want %v", m.State, tt.want)
			}
			if tt.want == StateSuspect {
				s := n.members["x"].susp
				if s.verifying || !s.deadline.Equal(now.Add(24*time.Second)) {
					t.Fatalf("timer not restarted: verifying %v, deadline %v after the ack", s.verifying, s.deadline.Sub(now))
				}
			}
		})
	}
}

// pingSeq returns the sequence number of the ping in a datagram, or 0
// (gossip).
func pingSeq(t *testing.T, b []byte) uint32 {
	t.Helper()
	m, err := decode(b)
	if err != nil {
		t.Fatal(err)
	}
	parts := []message{m}
	if c, ok := m.(*compound); ok {
		parts = parts[:0]
		for _, p := range c.Parts {
			pm, err := decodePart(p)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, pm)
		}
	}
	for _, pm := range parts {
		if p, ok := pm.(*ping); ok {
			return p.Seq
		}
	}
	return 0
}
