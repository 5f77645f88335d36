package driver

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/swim"
)

// fastSwim is LocalConfig sped up so that a failure is declared in about
// a second on loopback.
func fastSwim(name string, seed uint64) swim.Config {
	c := swim.LocalConfig(name, "", clock.NewRand(seed))
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 40 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 2 * time.Second
	c.ReconnectInterval = 0
	c.SuspicionMult = 3
	c.SuspicionMaxTimeoutMult = 2
	// LAN's 4, not Local's 2: with one member dead and the leaver among
	// the gossip targets, 2 sends per hop can miss a live member.
	c.RetransmitMult = 4
	c.TCPTimeout = 500 * time.Millisecond
	c.JoinRetryInterval = 100 * time.Millisecond
	c.DeadNodeReclaimTime = 0
	return c
}

// recorder collects one driver's events.
type recorder struct {
	mu  sync.Mutex
	evs []swim.Event
}

func (r *recorder) on(e swim.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

// count returns how many events of type t concern name ("" for any).
func (r *recorder) count(t swim.EventType, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if e.Type == t && (name == "" || e.Member.Name == name) {
			n++
		}
	}
	return n
}

func (r *recorder) users() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if e.Type == swim.EventUser {
			out = append(out, e.User.Name)
		}
	}
	return out
}

type tnode struct {
	name string
	d    *Driver
	rec  *recorder
}

func startNode(t *testing.T, name string, cfg Config) *tnode {
	t.Helper()
	n := &tnode{name: name, rec: &recorder{}}
	cfg.OnEvent = n.rec.on
	if cfg.LeavePropagateDelay == 0 {
		cfg.LeavePropagateDelay = 300 * time.Millisecond
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	n.d = d
	t.Cleanup(func() { d.Stop() })
	return n
}

// eventually polls cond until it holds or timeout passes (real sockets
// leave no virtual clock to jump; polling with a deadline, not sleeping).
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// seesStatus checks that every observer has name at status.
func seesStatus(observers []*tnode, name string, st swim.Status) func() error {
	return func() error {
		for _, o := range observers {
			m, ok := o.d.Member(name)
			if !ok || m.Status != st {
				return fmt.Errorf("%s sees %s as %v (present %v), want %v", o.name, name, m.Status, ok, st)
			}
		}
		return nil
	}
}

// converged checks that every node sees exactly names, all alive.
func converged(nodes []*tnode, names ...string) func() error {
	return func() error {
		for _, o := range nodes {
			var alive []string
			for _, m := range o.d.Members() {
				if m.Status == swim.StatusAlive {
					alive = append(alive, m.Name)
				}
			}
			if !slices.Equal(alive, names) {
				return fmt.Errorf("%s sees alive %v, want %v", o.name, alive, names)
			}
		}
		return nil
	}
}

func names(nodes []*tnode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.name)
	}
	slices.Sort(out)
	return out
}

var fmtErrorf = fmt.Errorf

// syncBuf is a bytes.Buffer safe for concurrent writers (log handlers).
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
