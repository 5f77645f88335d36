package driver

import (
	"net"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/swim"
)

func memNode(t *testing.T, mn *MemNetwork, name string, seed uint64, tweak func(*Config)) *tnode {
	t.Helper()
	tr, err := mn.Transport(name + ":7946")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Swim: fastSwim(name, seed), Transport: tr}
	if tweak != nil {
		tweak(&cfg)
	}
	return startNode(t, name, cfg)
}

// Three drivers on the in-memory network: join, a user event delivered
// exactly once everywhere, events in order, a graceful leave.
func TestMemPool(t *testing.T) {
	mn := NewMemNetwork()
	var nodes []*tnode
	for i, name := range []string{"a", "b", "c"} {
		nodes = append(nodes, memNode(t, mn, name, uint64(i+1), nil))
	}
	for _, n := range nodes[1:] {
		if err := n.d.Join([]string{"a:7946"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "converge", converged(nodes, "a", "b", "c"))
	if !nodes[1].d.Joined() {
		t.Error("b not Joined")
	}
	if err := nodes[2].d.UserEvent("deploy", []byte("v1"), false, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "user event", func() error {
		for _, n := range nodes {
			if n.rec.count(swim.EventUser, "") != 1 {
				return errf("%s has %v", n.name, n.rec.users())
			}
		}
		return nil
	})
	// The first event anywhere is the node's own join.
	for _, n := range nodes {
		n.rec.mu.Lock()
		first := n.rec.evs[0]
		n.rec.mu.Unlock()
		if first.Type != swim.EventJoin || first.Member.Name != n.name {
			t.Errorf("%s: first event %v %s", n.name, first.Type, first.Member.Name)
		}
	}
	if err := nodes[2].d.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	nodes[2].d.Stop()
	eventually(t, 5*time.Second, "leave seen", seesStatus(nodes[:2], "c", swim.StatusLeft))
	if m := nodes[2].d.Members(); len(m) != 3 {
		t.Errorf("Members after Stop: %d entries, want the last table (3)", len(m))
	}
	if err := nodes[2].d.SetTags(nil); err != ErrStopped {
		t.Errorf("SetTags after Stop: %v", err)
	}
	for _, n := range nodes[:2] {
		if c := n.rec.count(swim.EventFail, ""); c != 0 {
			t.Errorf("%s saw %d failures", n.name, c)
		}
	}
}

func errf(format string, args ...any) error { return fmtErrorf(format, args...) }

// Junk on the wire is counted, never a crash: malformed datagrams go to
// the core's decode errors; envelopes to an unencrypted driver are
// undecryptable; an oversized stream frame is malformed.
func TestMemBadInput(t *testing.T) {
	mn := NewMemNetwork()
	n := memNode(t, mn, "a", 1, nil)
	junk, _ := mn.Transport("junk:1")
	junk.Serve(nopHandler{})
	junk.WritePacket("a:7946", []byte{1, 1, 0xff, 0xff})                     // truncated ping
	junk.WritePacket("a:7946", append([]byte{0xE0, 1}, make([]byte, 40)...)) // envelope, no keyring
	junk.WritePacket("a:7946", []byte{0xF3})                                 // unknown type
	c, err := junk.DialStream("a:7946", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	buf := make([]byte, 1)
	c.Read(buf) // returns when the driver closes the stream
	c.Close()
	eventually(t, 5*time.Second, "counted", func() error {
		s := n.d.Stats()
		if s.Core.DecodeErrors != 1 || s.Undecryptable != 1 || s.Malformed != 2 || s.PacketsIn != 3 {
			return errf("stats %+v", s)
		}
		return nil
	})
}

type nopHandler struct{}

func (nopHandler) HandlePacket(string, []byte) {}
func (nopHandler) HandleStream(c net.Conn)     { c.Close() }

// Inbound streams beyond MaxInboundStreams are closed at once.
func TestMemStreamCap(t *testing.T) {
	mn := NewMemNetwork()
	n := memNode(t, mn, "a", 1, func(c *Config) { c.MaxInboundStreams = 1 })
	junk, _ := mn.Transport("junk:1")
	junk.Serve(nopHandler{})
	held, err := junk.DialStream("a:7946", time.Second) // holds the only slot, writes nothing
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	second, _ := junk.DialStream("a:7946", time.Second)
	if _, err := second.Read(make([]byte, 1)); err == nil {
		t.Fatal("second stream not closed")
	}
	if s := n.d.Stats(); s.StreamsRefused != 1 || s.StreamsIn != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A persisted state on vfs.Mem: restart at a higher incarnation, with the
// event clock, rejoining persisted peers without being told to.
func TestMemRestart(t *testing.T) {
	mn := NewMemNetwork()
	disk := vfs.NewMem()
	withDisk := func(c *Config) { c.DataDir = "data/b"; c.FS = disk }
	a := memNode(t, mn, "a", 1, nil)
	b := memNode(t, mn, "b", 2, withDisk)
	b.d.Join([]string{"a:7946"})
	eventually(t, 5*time.Second, "converge", converged([]*tnode{a, b}, "a", "b"))
	a.d.UserEvent("e1", nil, false, nil)
	eventually(t, 5*time.Second, "event", func() error {
		if b.rec.count(swim.EventUser, "") != 1 {
			return errf("b has %v", b.rec.users())
		}
		return nil
	})
	inc := b.d.LocalMember().Incarnation
	b.d.Stop()
	st, err := loadState(disk, "data/b")
	if err != nil || st == nil {
		t.Fatalf("state %+v %v", st, err)
	}
	if st.EventClock == 0 || len(st.Members) != 1 || st.Members[0].Addr != "a:7946" || st.Left {
		t.Fatalf("persisted %+v", st)
	}
	b2 := memNode(t, mn, "b", 3, withDisk) // no Join: rejoins from the state
	if got := b2.d.LocalMember().Incarnation; got <= inc {
		t.Fatalf("restarted at incarnation %d, was %d", got, inc)
	}
	eventually(t, 5*time.Second, "rejoin", func() error {
		m, ok := a.d.Member("b")
		if !ok || m.Status != swim.StatusAlive || m.Incarnation <= inc {
			return errf("a sees b %+v", m)
		}
		return nil
	})
	// The old event is not delivered again even if gossiped once more.
	a.d.UserEvent("e2", nil, false, nil)
	eventually(t, 5*time.Second, "new event", func() error {
		if u := b2.rec.users(); len(u) != 1 || u[0] != "e2" {
			return errf("b2 has %v", u)
		}
		return nil
	})
}
