package swim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// cluster is a tiny deterministic harness: N cores on virtual time with an
// in-memory packet router. No goroutines, no sleeps.
type cluster struct {
	t       *testing.T
	now     time.Time
	nodes   []*tnode
	byAddr  map[string]*tnode
	queue   []delivery
	seq     uint64
	latency time.Duration
	// cut reports whether traffic from → to is lost (partitions).
	cut  func(from, to *tnode) bool
	seed uint64
	// trace records every event, for the determinism test.
	trace []string
}

type tnode struct {
	name, addr string
	n          *Node
	crashed    bool
	events     []Event
}

type delivery struct {
	at       time.Time
	seq      uint64
	from, to string
	payload  []byte
	stream   bool
	reply    bool // a stream reply: HandleStream, result discarded
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig(name string, r *rand.Rand) Config {
	c := LANConfig(name, name+":7946", r)
	c.ReconnectInterval = 5 * time.Second
	return c
}

func newCluster(t *testing.T, n int, seed uint64, tweak func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, now: epoch, byAddr: map[string]*tnode{}, latency: time.Millisecond, seed: seed}
	for i := range n {
		c.add(fmt.Sprintf("n%d", i), 0, tweak)
	}
	return c
}

// add starts a node (or restarts one under an existing name).
func (c *cluster) add(name string, inc Incarnation, tweak func(*Config)) *tnode {
	c.t.Helper()
	cfg := testConfig(name, rand.New(rand.NewPCG(c.seed, uint64(len(c.nodes))+1)))
	cfg.Incarnation = inc
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := New(cfg, c.now)
	if err != nil {
		c.t.Fatal(err)
	}
	tn := &tnode{name: name, addr: cfg.Addr, n: n}
	if old, ok := c.byAddr[tn.addr]; ok {
		c.nodes = slices.DeleteFunc(c.nodes, func(x *tnode) bool { return x == old })
	}
	c.nodes = append(c.nodes, tn)
	c.byAddr[tn.addr] = tn
	c.drain(tn)
	return tn
}

func (c *cluster) node(name string) *tnode {
	for _, tn := range c.nodes {
		if tn.name == name {
			return tn
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

func (c *cluster) drain(tn *tnode) {
	r := tn.n.Ready()
	for _, e := range r.Events {
		tn.events = append(tn.events, e)
		c.trace = append(c.trace, fmt.Sprintf("%v %s %s %s", c.now.Sub(epoch), tn.name, e.Type, e.Member.Name))
	}
	if tn.crashed {
		return
	}
	for _, p := range r.Packets {
		c.seq++
		lat := c.latency
		if p.Stream {
			lat *= 2
		}
		c.queue = append(c.queue, delivery{at: c.now.Add(lat), seq: c.seq, from: tn.addr, to: p.To, payload: p.Payload, stream: p.Stream})
	}
}

func (c *cluster) deliver(d delivery) {
	to, ok := c.byAddr[d.to]
	from := c.byAddr[d.from]
	if !ok || to.crashed || (c.cut != nil && from != nil && c.cut(from, to)) {
		return
	}
	switch {
	case d.reply:
		to.n.HandleStream(c.now, d.from, d.payload)
	case d.stream:
		if reply := to.n.HandleStream(c.now, d.from, d.payload); reply != nil {
			c.seq++
			c.queue = append(c.queue, delivery{at: c.now.Add(2 * c.latency), seq: c.seq, from: d.to, to: d.from, payload: reply, stream: true, reply: true})
		}
	default:
		to.n.HandlePacket(c.now, d.from, d.payload)
	}
	c.drain(to)
}

// run steps the cluster from event to event until virtual time reaches
// until.
func (c *cluster) run(d time.Duration) {
	c.runUntil(d, func() bool { return false })
}

// runUntil runs for at most d and stops early once cond holds; it reports
// whether cond held.
func (c *cluster) runUntil(d time.Duration, cond func() bool) bool {
	c.t.Helper()
	until := c.now.Add(d)
	for steps := 0; ; steps++ {
		if steps > 10_000_000 {
			c.t.Fatalf("harness: no progress at %v", c.now)
		}
		if cond() {
			return true
		}
		next := until.Add(time.Nanosecond)
		for _, tn := range c.nodes {
			if !tn.crashed {
				if dl := tn.n.NextDeadline(); dl.Before(next) {
					next = dl
				}
			}
		}
		if len(c.queue) > 0 && c.queue[0].at.Before(next) {
			next = c.queue[0].at
		}
		if next.After(until) {
			c.now = until
			return cond()
		}
		if next.After(c.now) {
			c.now = next
		}
		for len(c.queue) > 0 && !c.queue[0].at.After(c.now) {
			d := c.queue[0]
			c.queue = c.queue[1:]
			c.deliver(d)
			c.sortQueue()
		}
		for _, tn := range c.nodes {
			if !tn.crashed && !tn.n.NextDeadline().After(c.now) {
				tn.n.Tick(c.now)
				c.drain(tn)
			}
		}
		c.sortQueue()
	}
}

func (c *cluster) sortQueue() {
	slices.SortFunc(c.queue, func(a, b delivery) int {
		if x := a.at.Compare(b.at); x != 0 {
			return x
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// joinAll makes every node join the first one and runs until all see all.
func (c *cluster) joinAll() {
	c.t.Helper()
	for _, tn := range c.nodes[1:] {
		if err := tn.n.Join(c.now, []string{c.nodes[0].addr}); err != nil {
			c.t.Fatal(err)
		}
		c.drain(tn)
	}
	if !c.runUntil(30*time.Second, func() bool { return c.allSee(c.live(), StatusAlive) }) {
		c.t.Fatalf("cluster did not converge: %s", c.dump())
	}
}

func (c *cluster) live() []*tnode {
	var out []*tnode
	for _, tn := range c.nodes {
		if !tn.crashed {
			out = append(out, tn)
		}
	}
	return out
}

// allSee reports whether every live node sees each of subjects with st.
func (c *cluster) allSee(subjects []*tnode, st Status) bool {
	for _, o := range c.live() {
		for _, s := range subjects {
			if o == s {
				continue
			}
			m, ok := o.n.Member(s.name)
			if !ok || m.Status != st {
				return false
			}
		}
	}
	return true
}

func (c *cluster) crash(tn *tnode) { tn.crashed = true }

func (c *cluster) dump() string {
	s := ""
	for _, tn := range c.nodes {
		s += fmt.Sprintf("\n%s crashed=%v:", tn.name, tn.crashed)
		for _, m := range tn.n.Members() {
			s += fmt.Sprintf(" %s=%v/%v@%d", m.Name, m.State, m.Status, m.Incarnation)
		}
	}
	return s
}

func countEvents(tn *tnode, t EventType, name string) int {
	c := 0
	for _, e := range tn.events {
		if e.Type == t && (name == "" || e.Member.Name == name) {
			c++
		}
	}
	return c
}
