package swim

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() map[string]message {
	return map[string]message{
		"ping":          &ping{Seq: 7, Target: "n1", SourceName: "n0", SourceAddr: "10.0.0.1:7946"},
		"ping max seq":  &ping{Seq: 1<<32 - 1},
		"indirect-ping": &indirectPing{Seq: 9, Target: "n2", TargetAddr: "10.0.0.2:7946", Nack: true, SourceName: "n0", SourceAddr: "10.0.0.1:7946"},
		"ack":           &ack{Seq: 300},
		"nack":          &nack{Seq: 1},
		"suspect":       &suspect{Inc: 4, Node: "n3", From: "n0"},
		"alive":         &alive{Inc: 2, Node: "n1", Addr: "h:1", Tags: map[string]string{"role": "server", "dc": "dc1"}},
		"alive no tags": &alive{Inc: 0, Node: "n1", Addr: "h:1"},
		"dead":          &dead{Inc: 5, Node: "n4", From: "n4"},
		"compound":      &compound{Parts: [][]byte{encode(&ack{Seq: 1}), encode(&dead{Inc: 1, Node: "a", From: "b"})}},
		"push-pull": &pushPull{Join: true, EventLTime: 12, Members: []pushPullMember{
			{Name: "a", Addr: "a:1", Tags: map[string]string{"x": "y"}, Inc: 3, State: StateDead, Accuser: "c"},
			{Name: "b", Addr: "b:1", Inc: 0, State: StateLeft},
		}},
		"push-pull response": &pushPull{Response: true},
		"user-event":         &userEventMsg{UserEvent{LTime: 99, Name: "deploy", Payload: []byte("v2"), Coalesce: true, Filter: []byte{1, 2}}},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for name, m := range sampleMessages() {
		t.Run(name, func(t *testing.T) {
			b := encode(m)
			if b[0] != byte(m.kind()) || b[1] != wireVersion {
				t.Fatalf("header % x", b[:2])
			}
			got, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if pp, ok := got.(*pushPull); ok && len(pp.Members) == 0 {
				pp.Members = nil
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, m)
			}
			// Every strict prefix is rejected, without panicking.
			for i := range len(b) {
				if _, err := decode(b[:i]); err == nil {
					t.Errorf("prefix of %d/%d bytes decoded", i, len(b))
				}
			}
			if _, err := decode(append(bytes.Clone(b), 0)); err == nil {
				t.Error("trailing byte accepted")
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one byte", []byte{byte(msgAck)}},
		{"bad version", []byte{byte(msgAck), 2, 1}},
		{"unknown type", []byte{200, wireVersion}},
		{"type zero", []byte{0, wireVersion}},
		{"varint overflow", append([]byte{byte(msgAck), wireVersion}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"seq over uint32", []byte{byte(msgAck), wireVersion, 0x80, 0x80, 0x80, 0x80, 0x10}},
		{"string longer than input", []byte{byte(msgDead), wireVersion, 1, 50, 'a'}},
		{"name over limit", append([]byte{byte(msgDead), wireVersion, 1, 0x81, 0x01}, make([]byte, 129)...)},
		{"huge tag count", []byte{byte(msgAlive), wireVersion, 0, 1, 'a', 1, 'b', 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"duplicate tag", []byte{byte(msgAlive), wireVersion, 0, 1, 'a', 1, 'b', 2, 1, 'k', 0, 1, 'k', 0}},
		{"nack without seq", []byte{byte(msgNack), wireVersion}},
		{"indirect bad bool", []byte{byte(msgIndirectPing), wireVersion, 1, 0, 0, 7, 0, 0}},
		{"compound count over remaining", []byte{byte(msgCompound), wireVersion, 5, 1}},
		{"compound part over remaining", []byte{byte(msgCompound), wireVersion, 1, 9, 1}},
		{"push-pull unknown flag", []byte{byte(msgPushPull), wireVersion, 4, 0, 0}},
		{"push-pull huge count", []byte{byte(msgPushPull), wireVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"push-pull bad state", []byte{byte(msgPushPull), wireVersion, 0, 0, 1, 1, 'a', 0, 0, 0, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("decode(% x) err = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
	if _, err := decodePart(encode(&compound{})); err == nil {
		t.Error("nested compound accepted")
	}
}

// Garbage from the network is counted, never panics, never changes state.
func TestNodeCountsGarbage(t *testing.T) {
	c := newCluster(t, 1, 1, nil)
	n := c.nodes[0].n
	before := n.Members()
	n.HandlePacket(epoch, "x:1", []byte{0xde, 0xad})
	n.HandlePacket(epoch, "x:1", encode(&compound{Parts: [][]byte{{1}, encode(&compound{})}}))
	if reply := n.HandleStream(epoch, "x:1", []byte{byte(msgPushPull)}); reply != nil {
		t.Error("reply to garbage stream")
	}
	n.HandlePacket(epoch, "x:1", encode(&pushPull{})) // push-pull in a datagram
	s := n.Stats()
	if s.DecodeErrors != 4 || s.Dropped != 1 {
		t.Errorf("stats %+v, want 4 decode errors, 1 dropped", s)
	}
	if !reflect.DeepEqual(before, n.Members()) {
		t.Error("garbage changed the table")
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(encode(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		// Canonical form: re-encoding a decoded message is a fixed point.
		e1 := encode(m)
		m2, err := decode(e1)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if e2 := encode(m2); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding not stable:\n% x\n% x", e1, e2)
		}
		if c, ok := m.(*compound); ok {
			for _, p := range c.Parts {
				decodePart(p)
			}
		}
		// And a node swallows it without panicking.
		n := fuzzNode(t)
		n.HandlePacket(epoch, "f:1", b)
		n.HandleStream(epoch, "f:1", b)
		n.Tick(epoch.Add(1e9))
		n.Ready()
	})
}

func fuzzNode(t *testing.T) *Node {
	cfg := testConfig("n0", newTestRand(1))
	n, err := New(cfg, epoch)
	if err != nil {
		t.Fatal(err)
	}
	// Know a few members so that claims about them do something.
	for _, name := range []string{"a", "b", "n1"} {
		n.HandlePacket(epoch, "", encode(&alive{Inc: 1, Node: name, Addr: name + ":1"}))
	}
	return n
}
