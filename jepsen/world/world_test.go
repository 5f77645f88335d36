package world

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/clock"
)

// pingPong runs hosts that gossip counters to random peers over a lossy,
// reordering, duplicating network with a partition and a pause, and
// returns the trace.
func pingPong(seed uint64) string {
	r := clock.NewRand(seed)
	w := New(clock.Sub(r, 1))
	var buf bytes.Buffer
	w.SetTrace(&buf)
	w.Net.SetConfig(NetConfig{MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond,
		LossPPM: 100_000, DupPPM: 50_000, ReorderPPM: 50_000, ReorderDelay: 50 * time.Millisecond})
	app := clock.Sub(r, 2)
	var hosts []*Host
	for i := range 5 {
		hosts = append(hosts, w.AddHost(fmt.Sprintf("h%d", i)))
	}
	for i, h := range hosts {
		h.Clock().SetRate(int64(900_000 + 50_000*i))
		h.OnDatagram(func(from string, b []byte) { w.Tracef("%s <- %s %s", h.Addr(), from, b) })
		var tick func()
		n := 0
		tick = func() {
			n++
			to := hosts[app.IntN(len(hosts))].Addr()
			h.Send(to, fmt.Appendf(nil, "%s#%d", h.Addr(), n))
			h.Clock().AfterFunc(10*time.Millisecond, tick)
		}
		h.Clock().AfterFunc(time.Duration(i)*time.Millisecond, tick)
	}
	w.At(100*time.Millisecond, func() { w.Net.BlockBoth("h0", "h1"); w.Tracef("partition") })
	w.At(150*time.Millisecond, func() { hosts[2].Pause(); w.Tracef("pause h2") })
	w.At(300*time.Millisecond, func() { hosts[2].Resume(); w.Net.Heal(); w.Tracef("resume h2, heal") })
	w.RunUntil(500*time.Millisecond, nil)
	return buf.String()
}

func TestDeterminism(t *testing.T) {
	a, b := pingPong(7), pingPong(7)
	if a != b {
		t.Fatalf("same seed gave different traces")
	}
	if a == pingPong(8) {
		t.Fatalf("different seeds gave identical traces")
	}
	if len(a) < 1000 {
		t.Fatalf("trace too short: %q", a)
	}
}

func TestEventOrder(t *testing.T) {
	w := New(clock.NewRand(1))
	var got []string
	w.At(20, func() { got = append(got, "b") })
	w.At(10, func() { got = append(got, "a") })
	w.At(20, func() { got = append(got, "c") })
	e := w.At(15, func() { got = append(got, "x") })
	e.Cancel(w)
	for w.Step() {
	}
	if fmt.Sprint(got) != "[a b c]" || w.Now() != 20 {
		t.Fatalf("got %v at %v", got, w.Now())
	}
}

func TestPartition(t *testing.T) {
	cases := []struct {
		name   string
		block  func(n *Network)
		ab, ba bool // delivered a->b, b->a
	}{
		{"none", func(n *Network) {}, true, true},
		{"symmetric", func(n *Network) { n.BlockBoth("a", "b") }, false, false},
		{"asymmetric", func(n *Network) { n.Block("a", "b") }, false, true},
		{"healed", func(n *Network) { n.BlockBoth("a", "b"); n.Heal() }, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := New(clock.NewRand(1))
			a, b := w.AddHost("a"), w.AddHost("b")
			var ab, ba bool
			b.OnDatagram(func(string, []byte) { ab = true })
			a.OnDatagram(func(string, []byte) { ba = true })
			tc.block(w.Net)
			a.Send("b", nil)
			b.Send("a", nil)
			for w.Step() {
			}
			if ab != tc.ab || ba != tc.ba {
				t.Fatalf("a->b %v b->a %v, want %v %v", ab, ba, tc.ab, tc.ba)
			}
		})
	}
}

func TestPartitionWhileInFlight(t *testing.T) {
	w := New(clock.NewRand(1))
	w.Net.SetConfig(NetConfig{MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond})
	a, b := w.AddHost("a"), w.AddHost("b")
	got := 0
	b.OnDatagram(func(string, []byte) { got++ })
	a.Send("b", nil)
	w.At(5*time.Millisecond, func() { w.Net.Block("a", "b") })
	for w.Step() {
	}
	if got != 0 {
		t.Fatalf("datagram crossed a partition made while in flight")
	}
}

// TestSlowHost: a slow host's datagrams, both ways, arrive the hold
// later; others and those sent after the hold ends are on time.
func TestSlowHost(t *testing.T) {
	const delay, hold = 10 * time.Millisecond, 300 * time.Millisecond
	cases := []struct {
		name     string
		from, to string
		slow     string        // host made slow before sending
		endAt    time.Duration // SetSlow(slow, 0) at this time (0: never)
		sendAt   time.Duration
		wantAt   time.Duration
	}{
		{"none", "a", "b", "", 0, 0, delay},
		{"from slow", "a", "b", "a", 0, 0, delay + hold},
		{"to slow", "a", "b", "b", 0, 0, delay + hold},
		{"other link", "b", "c", "a", 0, 0, delay},
		{"sent after the end", "a", "b", "a", 50 * time.Millisecond, 60 * time.Millisecond, 60*time.Millisecond + delay},
		{"in flight at the end", "a", "b", "a", 50 * time.Millisecond, 0, delay + hold},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := New(clock.NewRand(1))
			w.Net.SetConfig(NetConfig{MinDelay: delay, MaxDelay: delay})
			hosts := map[string]*Host{}
			for _, n := range []string{"a", "b", "c"} {
				hosts[n] = w.AddHost(n)
			}
			var at time.Duration = -1
			hosts[tc.to].OnDatagram(func(string, []byte) { at = w.Now() })
			if tc.slow != "" {
				w.Net.SetSlow(tc.slow, hold)
			}
			if tc.endAt > 0 {
				w.At(tc.endAt, func() { w.Net.SetSlow(tc.slow, 0) })
			}
			w.At(tc.sendAt, func() { hosts[tc.from].Send(tc.to, nil) })
			for w.Step() {
			}
			if at != tc.wantAt {
				t.Fatalf("delivered at %v, want %v", at, tc.wantAt)
			}
		})
	}
}

func TestPauseDefersAndCrashDrops(t *testing.T) {
	w := New(clock.NewRand(1))
	h := w.AddHost("h")
	var ran []time.Duration
	h.Clock().AfterFunc(10*time.Millisecond, func() { ran = append(ran, w.Now()) })
	h.Clock().AfterFunc(20*time.Millisecond, func() { ran = append(ran, w.Now()) })
	stopped := h.Clock().AfterFunc(30*time.Millisecond, func() { t.Errorf("stopped timer ran") })
	w.At(5*time.Millisecond, h.Pause)
	w.At(25*time.Millisecond, func() {
		if !stopped.Stop() {
			t.Errorf("Stop of a pending timer returned false")
		}
	})
	w.At(40*time.Millisecond, h.Resume)
	for w.Step() {
	}
	if fmt.Sprint(ran) != "[40ms 40ms]" {
		t.Fatalf("paused timers ran at %v, want both at resume (40ms)", ran)
	}

	h.Clock().AfterFunc(10*time.Millisecond, func() { t.Errorf("timer survived a crash") })
	h.Disk(func() { t.Errorf("disk write survived a crash") })
	h.Crash(nil)
	for w.Step() {
	}
}

func TestClockSkew(t *testing.T) {
	w := New(clock.NewRand(1))
	h := w.AddHost("h")
	h.Clock().SetRate(2_000_000) // runs twice as fast
	var at time.Duration
	h.Clock().AfterFunc(100*time.Millisecond, func() { at = w.Now() })
	for w.Step() {
	}
	if at != 50*time.Millisecond {
		t.Fatalf("fast clock's 100ms timer fired at global %v, want 50ms", at)
	}
	if got := h.Clock().Now().Sub(Epoch); got != 100*time.Millisecond {
		t.Fatalf("local time %v, want 100ms", got)
	}
}

func TestDiskFIFO(t *testing.T) {
	w := New(clock.NewRand(1))
	h := w.AddHost("h")
	h.SetDisk(3 * time.Millisecond)
	var at []time.Duration
	h.Disk(func() { at = append(at, w.Now()) })
	w.At(time.Millisecond, func() {
		// Both queued behind the first batch: written together next.
		h.Disk(func() { at = append(at, w.Now()) })
		h.Disk(func() { at = append(at, w.Now()) })
	})
	for w.Step() {
	}
	if fmt.Sprint(at) != "[3ms 6ms 6ms]" {
		t.Fatalf("disk completions at %v", at)
	}
}

func TestStream(t *testing.T) {
	cases := []struct {
		name    string
		fault   func(w *World, a, b *Host)
		wantErr bool
	}{
		{"clean", func(*World, *Host, *Host) {}, false},
		{"partition", func(w *World, a, b *Host) { w.Net.Block("a", "b") }, true},
		{"receiver crash", func(w *World, a, b *Host) { b.Crash(clock.NewRand(2)) }, true},
		{"receiver pause", func(w *World, a, b *Host) { b.Pause(); w.After(time.Second, b.Resume) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := New(clock.NewRand(1))
			w.Net.SetConfig(NetConfig{MinDelay: time.Millisecond, MaxDelay: time.Millisecond, StreamBytesPerMs: 1})
			a, b := w.AddHost("a"), w.AddHost("b")
			var got []byte
			var closeErr error = fmt.Errorf("never closed")
			b.OnStream(func(s *Stream) {
				s.Receive(func(p []byte) { got = append(got, p...) }, func(err error) { closeErr = err })
			})
			s, err := a.Dial("b")
			if err != nil {
				t.Fatal(err)
			}
			var finErr error = fmt.Errorf("never finished")
			for _, c := range []string{"hello ", "world"} {
				s.Write([]byte(c))
			}
			s.Close(func(err error) { finErr = err })
			w.After(3*time.Millisecond, func() { tc.fault(w, a, b) })
			for w.Step() {
			}
			if tc.wantErr {
				if finErr == nil {
					t.Fatalf("sender saw success despite the fault")
				}
				return
			}
			if finErr != nil || closeErr != nil || string(got) != "hello world" {
				t.Fatalf("got %q close %v finish %v", got, closeErr, finErr)
			}
		})
	}
}
