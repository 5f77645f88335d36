package swim

import (
	"fmt"
	"testing"
	"time"
)

// Lifeguard §4.1: a member that cannot hear anyone (its inbound traffic is
// lost) blames itself — missing acks and nacks raise its health score and
// stretch its probe interval — while healthy members probing a truly dead
// one get nacks back from the relays and stay at score 0.
func TestAwarenessDeafVersusHealthy(t *testing.T) {
	c := newCluster(t, 5, 21, nil)
	c.joinAll()
	deaf, victim := c.nodes[0], c.nodes[4]
	c.cut = func(from, to *tnode) bool { return to == deaf }
	c.crash(victim)
	c.run(20 * time.Second)
	if h := deaf.n.Health(); h < 3 {
		t.Errorf("deaf node health %d, want >= 3", h)
	}
	before := deaf.n.nextProbe
	deaf.n.Tick(before)
	if got := deaf.n.nextProbe.Sub(before); got != time.Duration(deaf.n.Health()+1)*time.Second {
		t.Errorf("deaf probe interval %v, want (score+1)s", got)
	}
	c.drain(deaf)
	for _, tn := range c.nodes[1:4] {
		if h := tn.n.Health(); h != 0 {
			t.Errorf("%s (healthy) health %d, want 0", tn.name, h)
		}
		if tn.n.Stats().ProbesFailed == 0 {
			continue
		}
	}
	// The deaf node's inability to hear must not have killed anyone but
	// the victim in the healthy members' eyes.
	for _, tn := range c.nodes[1:4] {
		for _, o := range c.nodes[1:4] {
			if m, _ := tn.n.Member(o.name); m.Status != StatusAlive {
				t.Errorf("%s sees %s %v", tn.name, o.name, m.Status)
			}
		}
	}
}

// Nacks come back from the relays before the probe ends.
func TestNacksArriveBeforeProbeEnds(t *testing.T) {
	c := newCluster(t, 5, 22, nil)
	c.joinAll()
	victim := c.nodes[4]
	c.crash(victim)
	prober := c.nodes[0]
	// Run until prober's probe of the victim is in its indirect phase, then
	// to just before its end, and count nacks.
	ok := c.runUntil(30*time.Second, func() bool {
		p := prober.n.probe
		return p.active && p.target == victim.name && p.indirect
	})
	if !ok {
		t.Fatal("prober never probed the victim indirectly")
	}
	end := prober.n.probe.endAt
	c.run(end.Sub(c.now) - time.Millisecond)
	p := prober.n.probe
	if !p.active || p.expectedNacks == 0 || p.nacks != p.expectedNacks {
		t.Errorf("nacks %d of %d before the deadline", p.nacks, p.expectedNacks)
	}
}

// The fallback stream probe saves a member whose datagrams are lost but
// whose streams get through.
func TestStreamFallbackProbe(t *testing.T) {
	c := newCluster(t, 4, 23, nil)
	c.joinAll()
	udpDead := c.nodes[3]
	c.cut = nil
	// Drop udpDead's datagrams only: wrap deliver by filtering the queue.
	c.run(time.Second)
	start := c.now
	for c.now.Sub(start) < time.Minute {
		c.queue = filterDatagrams(c.queue, udpDead.addr)
		c.run(time.Millisecond)
	}
	for _, tn := range c.nodes[:3] {
		if m, _ := tn.n.Member(udpDead.name); m.Status != StatusAlive {
			t.Errorf("%s sees %s %v despite stream acks", tn.name, udpDead.name, m.Status)
		}
		if n := countEvents(tn, EventFail, ""); n != 0 {
			t.Errorf("%s saw %d failures", tn.name, n)
		}
	}
}

func filterDatagrams(q []delivery, addr string) []delivery {
	out := q[:0]
	for _, d := range q {
		if !d.stream && (d.to == addr || d.from == addr) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// Piggybacked datagrams never exceed PacketSize, even with many updates
// queued, and every update still reaches everyone.
func TestPacketsFitAndUpdatesSpread(t *testing.T) {
	c := newCluster(t, 30, 24, nil)
	c.joinAll()
	for i, tn := range c.nodes {
		tags := map[string]string{"k": fmt.Sprintf("%0200d", i)}
		if err := tn.n.SetTags(c.now, tags); err != nil {
			t.Fatal(err)
		}
		c.drain(tn)
	}
	for _, d := range c.queue {
		if !d.stream && len(d.payload) > 1400 {
			t.Fatalf("datagram of %d bytes", len(d.payload))
		}
	}
	ok := c.runUntil(20*time.Second, func() bool {
		for _, d := range c.queue {
			if !d.stream && len(d.payload) > 1400 {
				t.Fatalf("datagram of %d bytes", len(d.payload))
			}
		}
		for _, o := range c.nodes {
			for i, s := range c.nodes {
				if m, _ := o.n.Member(s.name); m.Tags["k"] != fmt.Sprintf("%0200d", i) {
					return false
				}
			}
		}
		return true
	})
	if !ok {
		t.Fatal("tag updates did not all spread")
	}
}

// Dead members keep receiving gossip for GossipToTheDeadTime, then not.
func TestGossipToTheDead(t *testing.T) {
	n := solo(t)
	feed(n, epoch, &alive{Inc: 1, Node: "x", Addr: "x:1"}, &dead{Inc: 1, Node: "x", From: "y"})
	n.Ready()
	sentTo := func(at time.Time) bool {
		n.bq.queue("", encode(&ack{Seq: 1}), false) // something to gossip
		n.nextGossip = at
		n.Tick(at)
		for _, p := range n.Ready().Packets {
			if p.To == "x:1" {
				return true
			}
		}
		return false
	}
	if !sentTo(epoch.Add(29 * time.Second)) {
		t.Error("no gossip to a member dead for 29s")
	}
	if sentTo(epoch.Add(31 * time.Second)) {
		t.Error("gossip to a member dead for 31s")
	}
}

// Lifeguard §4.2 counts independent accusers. A push-pull relays the
// accusations its sender holds, under the name of the member that made
// them: the exchange itself is no confirmation by the receiver.
func TestPushPullRelaysAccusation(t *testing.T) {
	tests := []struct {
		name string
		// first, if set, starts the suspicion by a suspect message from it.
		first string
		// remote is the push-pull entry about x.
		remote    State
		accuser   string
		wantOrig  string // the suspicion's originator afterwards
		wantConfs int
	}{
		{"new suspicion, accuser named", "", StateSuspect, "a", "a", 0},
		{"new suspicion from a dead entry", "", StateDead, "b", "b", 0},
		{"new suspicion, no accuser: ours, as memberlist", "", StateSuspect, "", "me", 0},
		{"same accuser is no confirmation", "a", StateSuspect, "a", "a", 0},
		{"other accuser confirms", "a", StateSuspect, "b", "a", 1},
		{"no accuser never confirms", "a", StateDead, "", "a", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := solo(t)
			for _, name := range []string{"x", "a", "b", "c"} {
				feed(n, epoch, &alive{Inc: 1, Node: name, Addr: name + ":1"})
			}
			if tt.first != "" {
				feed(n, epoch, &suspect{Inc: 1, Node: "x", From: tt.first})
			}
			n.HandleStream(epoch, "peer:1", encode(&pushPull{Members: []pushPullMember{
				{Name: "x", Addr: "x:1", Inc: 1, State: tt.remote, Accuser: tt.accuser},
			}}))
			m := n.members["x"]
			if m.susp == nil {
				t.Fatalf("x is %v, want suspect", m.state)
			}
			if m.accuser != tt.wantOrig || m.susp.n != tt.wantConfs {
				t.Errorf("originator %q, confirmations %d; want %q, %d", m.accuser, m.susp.n, tt.wantOrig, tt.wantConfs)
			}
			// The originator's own gossip must not count twice.
			feed(n, epoch, &suspect{Inc: 1, Node: "x", From: tt.wantOrig})
			if m.susp.n != tt.wantConfs {
				t.Errorf("the originator's suspect message counted as a confirmation")
			}
			// And our table passes the originator on.
			for _, pm := range n.localState(false, false).Members {
				if pm.Name == "x" && pm.Accuser != tt.wantOrig {
					t.Errorf("push-pull sends accuser %q, want %q", pm.Accuser, tt.wantOrig)
				}
			}
		})
	}
}

// A suspicion at a higher incarnation means the member refuted the one we
// hold: it starts over rather than confirming the refuted suspicion.
func TestSuspicionAtHigherIncarnationRestarts(t *testing.T) {
	n := solo(t)
	for _, name := range []string{"x", "a", "b", "c"} {
		feed(n, epoch, &alive{Inc: 1, Node: name, Addr: name + ":1"})
	}
	feed(n, epoch, &suspect{Inc: 1, Node: "x", From: "a"})
	later := epoch.Add(10 * time.Second)
	feed(n, later, &suspect{Inc: 2, Node: "x", From: "b"})
	m := n.members["x"]
	if m.inc != 2 || m.susp == nil || m.susp.inc != 2 || m.susp.n != 0 || m.accuser != "b" {
		t.Fatalf("x inc %d, suspicion %+v, accuser %q; want a fresh suspicion at inc 2 by b", m.inc, m.susp, m.accuser)
	}
	if want := later.Add(m.susp.max); !m.susp.deadline.Equal(want) {
		t.Errorf("deadline %v, want %v (max from the new accusation)", m.susp.deadline, want)
	}
}

// A member first heard of as dead in a push-pull is learned as suspect:
// no failure is declared on the peer's word.
func TestPushPullUnknownDeadIsSuspect(t *testing.T) {
	n := solo(t)
	n.HandleStream(epoch, "peer:1", encode(&pushPull{Members: []pushPullMember{
		{Name: "y", Addr: "y:1", Inc: 3, State: StateDead, Accuser: "z"},
	}}))
	m, ok := n.Member("y")
	if !ok || m.State != StateSuspect || m.Incarnation != 3 {
		t.Fatalf("y = %+v (known %v), want suspect at inc 3", m, ok)
	}
	for _, e := range n.Ready().Events {
		if e.Type == EventFail {
			t.Errorf("failure event for %s", e.Member.Name)
		}
	}
}
