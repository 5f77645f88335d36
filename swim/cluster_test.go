package swim

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func TestJoinConverges(t *testing.T) {
	c := newCluster(t, 8, 1, nil)
	c.joinAll()
	for _, tn := range c.nodes {
		if got := tn.n.NumAlive(); got != 8 {
			t.Errorf("%s sees %d alive, want 8", tn.name, got)
		}
		if !tn.n.Joined() && tn != c.nodes[0] {
			t.Errorf("%s: Joined() = false", tn.name)
		}
	}
	// Stay healthy: no false positives over a quiet minute.
	c.run(time.Minute)
	for _, tn := range c.nodes {
		if n := countEvents(tn, EventFail, ""); n != 0 {
			t.Errorf("%s saw %d failures in a healthy cluster", tn.name, n)
		}
		if h := tn.n.Health(); h != 0 {
			t.Errorf("%s health score %d, want 0", tn.name, h)
		}
	}
}

// A crashed member is declared failed by everyone within probe detection
// plus the maximum suspicion timeout (anchors §3.3: ~4 s min, 24 s max at
// N ≤ 10 on LAN settings).
func TestCrashDetected(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		c := newCluster(t, 5, seed, nil)
		c.joinAll()
		c.run(5 * time.Second)
		victim := c.nodes[3]
		c.crash(victim)
		start := c.now
		if !c.runUntil(40*time.Second, func() bool { return c.allSee([]*tnode{victim}, StatusFailed) }) {
			t.Fatalf("seed %d: crash not detected in 40s: %s", seed, c.dump())
		}
		took := c.now.Sub(start)
		// Probe rounds are ≤ 4 s here, so someone probes the victim within
		// ~8 s; confirmations from the other 3 members pull the timer
		// toward its 4 s minimum.
		if took > 30*time.Second {
			t.Errorf("seed %d: detection took %v", seed, took)
		}
		t.Logf("seed %d: declared failed by all after %v", seed, took)
		for _, tn := range c.live() {
			if n := countEvents(tn, EventFail, ""); n != 1 {
				t.Errorf("seed %d: %s saw %d failures, want exactly 1", seed, tn.name, n)
			}
		}
	}
}

// A suspected but alive member refutes with a higher incarnation and is
// never declared failed.
func TestRefutation(t *testing.T) {
	c := newCluster(t, 5, 2, nil)
	c.joinAll()
	accuser, accused := c.nodes[0], c.nodes[2]
	accuser.n.HandlePacket(c.now, "x", encode(&suspect{Inc: 0, Node: accused.name, From: "x"}))
	c.drain(accuser)
	if m, _ := accuser.n.Member(accused.name); m.State != StateSuspect {
		t.Fatalf("accuser state of %s = %v, want suspect", accused.name, m.State)
	}
	c.run(40 * time.Second)
	for _, tn := range c.nodes {
		m, _ := tn.n.Member(accused.name)
		if m.State != StateAlive || m.Incarnation < 1 {
			t.Errorf("%s sees %s as %v@%d, want alive@>=1", tn.name, accused.name, m.State, m.Incarnation)
		}
		if n := countEvents(tn, EventFail, ""); n != 0 {
			t.Errorf("%s saw %d failures", tn.name, n)
		}
	}
	if accused.n.Stats().Refutations == 0 {
		t.Error("accused did not refute")
	}
}

// The buddy system: a member cut off from gossip still learns it is
// suspected through the probe of it, and refutes; the suspicion comes
// before the ping so that the refutation rides back on the ack and the
// prober stops suspecting without waiting for gossip.
func TestBuddySystemPing(t *testing.T) {
	c := newCluster(t, 3, 3, nil)
	c.joinAll()
	n0, n1 := c.nodes[0], c.nodes[1]
	n0.n.HandlePacket(c.now, "x", encode(&suspect{Inc: 0, Node: n1.name, From: "x"}))
	c.drain(n0)
	// Make n0 probe now and look at the ping it sends.
	for i := 0; i < 10; i++ {
		n0.n.nextProbe = c.now
		n0.n.Tick(c.now)
		r := n0.n.Ready()
		for _, p := range r.Packets {
			if p.To != n1.addr {
				continue
			}
			m, err := decode(p.Payload)
			if err != nil {
				t.Fatal(err)
			}
			comp, ok := m.(*compound)
			if !ok {
				continue
			}
			p0, _ := decodePart(comp.Parts[0])
			p1, _ := decodePart(comp.Parts[1])
			if _, ok := p1.(*ping); !ok {
				continue
			}
			if s, ok := p0.(*suspect); !ok || s.Node != n1.name {
				t.Fatalf("ping to suspect not preceded by suspect message: %#v", p0)
			}
			// Deliver the probe alone: only the ack can carry the
			// refutation back.
			c.drain(n1)
			n1.n.HandlePacket(c.now, n0.addr, p.Payload)
			for _, q := range n1.n.Ready().Packets {
				if q.To == n0.addr {
					n0.n.HandlePacket(c.now, n1.addr, q.Payload)
				}
			}
			if got, _ := n0.n.Member(n1.name); got.State != StateAlive || got.Incarnation == 0 {
				t.Fatalf("after the ack n0 holds %s at %v inc %d, want alive at a refuted incarnation", n1.name, got.State, got.Incarnation)
			}
			return
		}
	}
	t.Fatal("n0 never pinged the suspect")
}

func TestGracefulLeave(t *testing.T) {
	c := newCluster(t, 4, 4, nil)
	c.joinAll()
	leaver := c.nodes[2]
	if err := leaver.n.Leave(c.now); err != nil {
		t.Fatal(err)
	}
	if st := leaver.n.LocalMember().Status; st != StatusLeaving {
		t.Errorf("local status right after Leave = %v, want leaving", st)
	}
	c.drain(leaver)
	if !c.runUntil(5*time.Second, leaver.n.LeaveDone) {
		t.Fatal("leave broadcast never went out")
	}
	if st := leaver.n.LocalMember().Status; st != StatusLeft {
		t.Errorf("local status after LeaveDone = %v, want left", st)
	}
	c.crash(leaver) // the driver shuts down
	if !c.runUntil(10*time.Second, func() bool { return c.allSee([]*tnode{leaver}, StatusLeft) }) {
		t.Fatalf("leave not seen as left: %s", c.dump())
	}
	c.run(time.Minute)
	for _, tn := range c.live() {
		if n := countEvents(tn, EventFail, leaver.name); n != 0 {
			t.Errorf("%s saw the leaver fail", tn.name)
		}
		if n := countEvents(tn, EventLeave, leaver.name); n != 1 {
			t.Errorf("%s saw %d leave events, want 1", tn.name, n)
		}
		if m, _ := tn.n.Member(leaver.name); m.Status != StatusLeft {
			t.Errorf("%s: leaver status %v, want left (3)", tn.name, m.Status)
		}
	}
}

func TestReap(t *testing.T) {
	tweak := func(c *Config) {
		c.ReapFailedTimeout = 2 * time.Minute
		c.ReapLeftTimeout = time.Minute
	}
	c := newCluster(t, 4, 5, tweak)
	c.joinAll()
	leaver, victim := c.nodes[1], c.nodes[2]
	leaver.n.Leave(c.now)
	c.drain(leaver)
	c.runUntil(5*time.Second, leaver.n.LeaveDone)
	c.crash(leaver)
	c.crash(victim)
	c.run(50 * time.Second)
	obs := c.nodes[0]
	if m, ok := obs.n.Member(victim.name); !ok || m.Status != StatusFailed {
		t.Fatalf("victim %v %v, want failed", m.Status, ok)
	}
	c.run(30 * time.Second) // left reaped after 1 min
	if _, ok := obs.n.Member(leaver.name); ok {
		t.Error("left member not reaped after ReapLeftTimeout")
	}
	if _, ok := obs.n.Member(victim.name); !ok {
		t.Error("failed member reaped too early")
	}
	c.run(2 * time.Minute)
	if _, ok := obs.n.Member(victim.name); ok {
		t.Error("failed member not reaped after ReapFailedTimeout")
	}
	for _, tn := range c.live() {
		if countEvents(tn, EventReap, leaver.name) != 1 || countEvents(tn, EventReap, victim.name) != 1 {
			t.Errorf("%s: reap events missing: %v", tn.name, c.trace)
		}
	}
}

func TestTagUpdatePropagates(t *testing.T) {
	c := newCluster(t, 6, 6, nil)
	c.joinAll()
	src := c.nodes[4]
	tags := map[string]string{"role": "server", "dc": "dc1"}
	if err := src.n.SetTags(c.now, tags); err != nil {
		t.Fatal(err)
	}
	c.drain(src)
	ok := c.runUntil(5*time.Second, func() bool {
		for _, tn := range c.nodes {
			if m, _ := tn.n.Member(src.name); !maps.Equal(m.Tags, tags) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("tags did not propagate: %s", c.dump())
	}
	for _, tn := range c.nodes {
		if countEvents(tn, EventUpdate, src.name) != 1 {
			t.Errorf("%s: %d update events, want 1", tn.name, countEvents(tn, EventUpdate, src.name))
		}
	}
	big := map[string]string{"k": string(make([]byte, 600))}
	if err := src.n.SetTags(c.now, big); err == nil {
		t.Error("SetTags accepted tags over MaxTagsBytes")
	}
}

// Two clusters that never met merge through one Join (a push-pull).
func TestPushPullMergesClusters(t *testing.T) {
	c := newCluster(t, 6, 7, nil)
	a, b := c.nodes[:3], c.nodes[3:]
	for _, tn := range a[1:] {
		tn.n.Join(c.now, []string{a[0].addr})
		c.drain(tn)
	}
	for _, tn := range b[1:] {
		tn.n.Join(c.now, []string{b[0].addr})
		c.drain(tn)
	}
	c.run(5 * time.Second)
	if a[0].n.NumAlive() != 3 || b[0].n.NumAlive() != 3 {
		t.Fatalf("sub-clusters not formed: %s", c.dump())
	}
	a[2].n.Join(c.now, []string{b[1].addr})
	c.drain(a[2])
	// Gossip alone leaves a member unaware of the other side in about
	// one run in five (only the two joined members learn the news, and
	// each sends it RetransmitMult times); the periodic push-pull
	// (PushPullInterval 30 s) then repairs it.
	if !c.runUntil(40*time.Second, func() bool { return c.allSee(c.nodes, StatusAlive) }) {
		t.Fatalf("clusters did not merge: %s", c.dump())
	}
}

// Both sides of a partition declare the other failed; after healing the
// reconnect push-pulls and refutations bring everyone back.
func TestPartitionHeals(t *testing.T) {
	c := newCluster(t, 6, 8, nil)
	c.joinAll()
	side := func(tn *tnode) int {
		if tn.name < "n3" {
			return 0
		}
		return 1
	}
	c.cut = func(from, to *tnode) bool { return side(from) != side(to) }
	left, right := c.nodes[:3], c.nodes[3:]
	split := func() bool {
		for _, o := range left {
			for _, s := range right {
				if m, _ := o.n.Member(s.name); m.Status != StatusFailed {
					return false
				}
				if m, _ := s.n.Member(o.name); m.Status != StatusFailed {
					return false
				}
			}
		}
		return true
	}
	if !c.runUntil(2*time.Minute, split) {
		t.Fatalf("sides did not declare each other failed: %s", c.dump())
	}
	// Stay apart longer than GossipToTheDeadTime so only reconnect heals.
	c.run(time.Minute)
	c.cut = nil
	start := c.now
	if !c.runUntil(2*time.Minute, func() bool { return c.allSee(c.nodes, StatusAlive) }) {
		t.Fatalf("partition did not heal: %s", c.dump())
	}
	t.Logf("healed after %v", c.now.Sub(start))
	// And stays healed.
	c.run(time.Minute)
	if !c.allSee(c.nodes, StatusAlive) {
		t.Fatalf("healed cluster fell apart: %s", c.dump())
	}
}

func TestUserEventDeliveredOnce(t *testing.T) {
	c := newCluster(t, 6, 9, nil)
	c.joinAll()
	src := c.nodes[1]
	if err := src.n.UserEvent(c.now, "deploy", []byte("v1"), false, []byte("filter")); err != nil {
		t.Fatal(err)
	}
	if err := src.n.UserEvent(c.now, "deploy", []byte("v2"), true, nil); err != nil {
		t.Fatal(err)
	}
	c.drain(src)
	c.run(30 * time.Second)
	for _, tn := range c.nodes {
		var got []string
		for _, e := range tn.events {
			if e.Type == EventUser {
				got = append(got, e.User.Name+"/"+string(e.User.Payload)+"/"+string(e.User.Filter))
			}
		}
		slices.Sort(got) // gossip does not order events; Lamport times do
		if len(got) != 2 || got[0] != "deploy/v1/filter" || got[1] != "deploy/v2/" {
			t.Errorf("%s got user events %q, want each exactly once", tn.name, got)
		}
	}
}

// A crashed node restarted with a higher incarnation is seen alive again.
func TestRestartRejoins(t *testing.T) {
	c := newCluster(t, 4, 10, nil)
	c.joinAll()
	victim := c.nodes[2]
	c.crash(victim)
	if !c.runUntil(time.Minute, func() bool { return c.allSee([]*tnode{victim}, StatusFailed) }) {
		t.Fatal("crash not detected")
	}
	back := c.add(victim.name, victim.n.LocalMember().Incarnation+1, nil)
	back.n.Join(c.now, []string{c.nodes[0].addr})
	c.drain(back)
	if !c.runUntil(10*time.Second, func() bool { return c.allSee(c.nodes, StatusAlive) }) {
		t.Fatalf("restarted node not alive everywhere: %s", c.dump())
	}
	for _, tn := range c.live() {
		if tn != back && countEvents(tn, EventJoin, victim.name) != 2 {
			t.Errorf("%s: %d joins of %s, want 2", tn.name, countEvents(tn, EventJoin, victim.name), victim.name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	runOnce := func() []string {
		c := newCluster(t, 5, 42, nil)
		c.joinAll()
		c.crash(c.nodes[4])
		c.run(time.Minute)
		return c.trace
	}
	a, b := runOnce(), runOnce()
	if len(a) != len(b) {
		t.Fatalf("traces differ in length: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("traces differ at %d: %q vs %q", i, a[i], b[i])
		}
	}
}

func TestJoinRetriesThenGivesUp(t *testing.T) {
	c := newCluster(t, 2, 11, func(c *Config) { c.JoinMaxAttempts = 3 })
	n1 := c.nodes[1]
	n1.n.Join(c.now, []string{"nowhere:1"})
	c.drain(n1)
	c.run(time.Minute)
	if n1.n.Joined() || n1.n.Stats().JoinFailures != 1 {
		t.Fatalf("joined=%v failures=%d, want false/1", n1.n.Joined(), n1.n.Stats().JoinFailures)
	}
	// Retry reaches a node that comes up late.
	n1.n.Join(c.now, []string{"late:7946"})
	c.drain(n1)
	c.run(1500 * time.Millisecond)
	late := c.add("late", 0, nil)
	c.run(5 * time.Second)
	if !n1.n.Joined() {
		t.Fatal("join did not retry")
	}
	if _, ok := late.n.Member(n1.name); !ok {
		t.Error("late node did not learn the joiner")
	}
}
