package transport

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

// TestTCPSendReceive: messages on both lanes arrive, over two reused
// connections.
func TestTCPSendReceive(t *testing.T) {
	const n = 1000
	cfg := testTCPConfig(t)
	// Room for the whole burst: the first send waits for a dial, and
	// drops on a full queue are tested elsewhere.
	cfg.PriorityQueueLen, cfg.AppendQueueLen = n, n
	a, b := listen(t, cfg), listen(t, testTCPConfig(t))
	rb := newRecorder()
	b.SetReceiver(rb)
	for i := range n {
		a.Send("b", b.Addr(), []byte(fmt.Sprintf("m%04d", i)), i%3 == 0)
	}
	poll(t, 10*time.Second, func() bool { return rb.count() == n }, func() string {
		return fmt.Sprintf("received %d of %d; stats %+v", rb.count(), n, a.Stats())
	})
	for i := range n {
		require.True(t, rb.has(fmt.Sprintf("m%04d", i)))
	}
	st := a.Stats()
	require.Equal(t, uint64(n), st.Sent)
	require.Equal(t, uint64(2), st.Dials, "one connection per lane, reused")
	require.Equal(t, uint64(n), b.Stats().Received)
}

// TestTCPBackoffOnClock: a dead peer is reported unreachable; redials wait
// for the backoff, which doubles, on the transport's clock.
func TestTCPBackoffOnClock(t *testing.T) {
	clk := newManualClock()
	cfg := testTCPConfig(t)
	cfg.Clock = clk
	cfg.BackoffMin, cfg.BackoffMax = 100*time.Millisecond, 400*time.Millisecond
	a := listen(t, cfg)
	ra := newRecorder()
	a.SetReceiver(ra)
	dead := deadAddr(t)

	// send waits until the lane handled one more message.
	handled := 0
	send := func() {
		a.Send("x", dead, []byte("hb"), true)
		handled++
		poll(t, 5*time.Second, func() bool { return ra.unreachableCount("x") == handled }, func() string {
			return fmt.Sprintf("unreachable reports %d, want %d", ra.unreachableCount("x"), handled)
		})
	}
	steps := []struct {
		advance time.Duration
		dials   uint64
	}{
		{0, 1},                      // first message dials, fails
		{0, 1},                      // backing off: dropped without a dial
		{99 * time.Millisecond, 1},  // still inside the first 100ms
		{1 * time.Millisecond, 2},   // 100ms passed: dial again, fails; backoff 200ms
		{150 * time.Millisecond, 2}, // inside 200ms
		{50 * time.Millisecond, 3},  // backoff now 400ms
		{time.Hour, 4},              // capped at BackoffMax
		{400 * time.Millisecond, 5},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		send()
		require.Equal(t, s.dials, a.Stats().Dials, "step %d", i)
	}
	st := a.Stats()
	require.Equal(t, st.Dials, st.DialErrors)
	require.Equal(t, uint64(len(steps)), st.DroppedBackoff)
}

// TestTCPPeerRestartReconnects: after the peer restarts on the same
// address, the lanes notice the closed connections and redial.
func TestTCPPeerRestartReconnects(t *testing.T) {
	a := listen(t, testTCPConfig(t))
	bcfg := testTCPConfig(t)
	b := listen(t, bcfg)
	rb := newRecorder()
	b.SetReceiver(rb)
	a.Send("b", b.Addr(), []byte("before"), true)
	a.Send("b", b.Addr(), []byte("before-bulk"), false)
	poll(t, 5*time.Second, func() bool { return rb.count() == 2 }, func() string { return "first messages not received" })

	require.NoError(t, b.Close())
	bcfg.BindAddr = b.Addr()
	b2 := listen(t, bcfg)
	rb2 := newRecorder()
	b2.SetReceiver(rb2)
	// Messages sent into the dying connection may be lost, as Raft
	// allows; keep sending until one gets through on each lane.
	i := 0
	poll(t, 10*time.Second, func() bool {
		i++
		a.Send("b", b2.Addr(), []byte(fmt.Sprintf("p%d", i)), true)
		a.Send("b", b2.Addr(), []byte(fmt.Sprintf("a%d", i)), false)
		return rb2.hasPrefix("p") && rb2.hasPrefix("a")
	}, func() string { return fmt.Sprintf("no reconnect on both lanes: %+v", a.Stats()) })
	require.GreaterOrEqual(t, a.Stats().Dials, uint64(4))
}

// TestTCPQueueFullDrops: a peer that stops reading fills the bulk lane's
// queue; further sends are dropped, counted and reported, never blocking.
func TestTCPQueueFullDrops(t *testing.T) {
	stalled := make(chan struct{})
	p := newFakePeer(t, func(kind byte, c net.Conn) { <-stalled })
	defer close(stalled)
	cfg := testTCPConfig(t)
	cfg.AppendQueueLen = 4
	a := listen(t, cfg)
	ra := newRecorder()
	a.SetReceiver(ra)
	big := bytes.Repeat([]byte{1}, 16<<20) // larger than the socket buffers
	start := time.Now()
	for range 50 {
		a.Send("p", p.addr(), big, false)
	}
	require.Less(t, time.Since(start), 5*time.Second, "Send blocked")
	poll(t, 5*time.Second, func() bool { return a.Stats().DroppedQueueFull >= 40 }, func() string {
		return fmt.Sprintf("stats %+v", a.Stats())
	})
	require.GreaterOrEqual(t, ra.unreachableCount("p"), 40)
}

// TestTCPPriorityNotBlocked: with the bulk lane or a snapshot stream
// stalled mid-frame at the receiver, heartbeats still flow at once.
func TestTCPPriorityNotBlocked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stall byte
	}{
		{"bulk lane", kindRaftAppend},
		{"snapshot stream", kindSnapshot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stalling := make(chan struct{}, 1)
			release := make(chan struct{})
			prio := make(chan []byte, 1024)
			p := newFakePeer(t, func(kind byte, c net.Conn) {
				switch kind {
				case tc.stall:
					// Take 1 MiB, so the sender is inside a big frame,
					// then stop reading.
					_, _ = io.CopyN(io.Discard, c, 1<<20)
					stalling <- struct{}{}
					<-release
				case kindRaftPriority:
					for {
						b, err := readFrame(c, raft.MaxMessageBytes)
						if err != nil {
							return
						}
						prio <- b
					}
				}
			})
			t.Cleanup(func() { close(release) }) // before p's cleanup (LIFO)
			cfg := testTCPConfig(t)
			cfg.WriteTimeout = time.Minute // the stall must not resolve by timeout
			a := listen(t, cfg)
			a.SetReceiver(newRecorder())
			snapDone := make(chan bool, 1)
			switch tc.stall {
			case kindRaftAppend:
				a.Send("p", p.addr(), bytes.Repeat([]byte{2}, 48<<20), false)
			case kindSnapshot:
				m := raft.Message{Type: raft.MsgSnap, From: "a", To: "p", Term: 1, Snapshot: &raft.SnapshotMeta{Index: 10, Term: 1}}
				open := func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, 256<<20)), nil }
				a.SendSnapshot("p", p.addr(), m, open, func(ok bool) { snapDone <- ok })
			}
			select {
			case <-stalling:
			case <-time.After(10 * time.Second):
				t.Fatal("stalled stream never started")
			}
			for i := range 20 {
				want := fmt.Sprintf("hb%d", i)
				a.Send("p", p.addr(), []byte(want), true)
				select {
				case got := <-prio:
					require.Equal(t, want, string(got))
				case <-time.After(5 * time.Second):
					t.Fatalf("heartbeat %d delayed behind the stalled %s", i, tc.name)
				}
			}
			require.NoError(t, a.Close())
			if tc.stall == kindSnapshot {
				require.False(t, <-snapDone, "a cut stream is not acknowledged")
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestTCPSnapshotStream: the bytes and message arrive staged; done reports
// the receiver's ack; without a receiver the stream is refused and no
// staged file is left behind.
func TestTCPSnapshotStream(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	m := raft.Message{Type: raft.MsgSnap, From: "a", To: "b", Term: 3,
		Snapshot: &raft.SnapshotMeta{Index: 42, Term: 3, ConfigIndex: 1, Configuration: raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "x", Suffrage: raft.Voter}}}}}
	for _, tc := range []struct {
		name     string
		receiver bool
		data     []byte
	}{
		{"accepted", true, data},
		{"empty snapshot", true, nil},
		{"no receiver", false, data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := listen(t, testTCPConfig(t))
			bcfg := testTCPConfig(t)
			b := listen(t, bcfg)
			rb := newRecorder()
			if tc.receiver {
				b.SetReceiver(rb)
			}
			done := make(chan bool, 1)
			open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tc.data)), nil }
			a.SendSnapshot("b", b.Addr(), m, open, func(ok bool) { done <- ok })
			var ok bool
			select {
			case ok = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("no done")
			}
			require.Equal(t, tc.receiver, ok)
			if tc.receiver {
				require.Len(t, rb.snaps, 1)
				require.Equal(t, m, rb.snaps[0].m)
				require.Equal(t, len(tc.data), len(rb.snaps[0].data))
				require.True(t, bytes.Equal(tc.data, rb.snaps[0].data))
				require.Equal(t, uint64(1), a.Stats().SnapshotsSent)
			} else {
				require.Equal(t, uint64(1), a.Stats().SnapshotsSendFailed)
				require.Equal(t, uint64(1), b.Stats().SnapshotsReceiveFailed)
			}
			left, err := filepath.Glob(filepath.Join(bcfg.StagingDir, stagedPattern))
			require.NoError(t, err)
			require.Empty(t, left, "staged files left behind")
		})
	}
}

// TestTCPBadInput: malformed connections are closed and counted, never
// panic, and the transport keeps serving.
func TestTCPBadInput(t *testing.T) {
	snapHdr := raft.EncodeMessage(&raft.Message{Type: raft.MsgSnap, Term: 1, Snapshot: &raft.SnapshotMeta{Index: 1, Term: 1}})
	notSnap := raft.EncodeMessage(&raft.Message{Type: raft.MsgApp, Term: 1})
	frame := func(kind byte, parts ...[]byte) []byte {
		b := []byte{kind, wireVersion}
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	u32 := func(n uint32) []byte { return appendFrameHeader(nil, int(n)) }
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"unknown kind", frame('Z')},
		{"bad version", []byte{kindRaftPriority, 9}},
		{"zero length raft frame", frame(kindRaftAppend, u32(0))},
		{"raft frame over cap", frame(kindRaftAppend, u32(raft.MaxMessageBytes+1))},
		{"rpc frame over cap", frame(kindRPC, u32(1<<31))},
		{"rpc frame too short", frame(kindRPC, u32(3), []byte{1, 2, 3})},
		{"rpc method overruns", frame(kindRPC, u32(10), make([]byte, 8), []byte{5, 'x'})},
		{"rpc empty method", frame(kindRPC, u32(9), make([]byte, 9))},
		{"snapshot header undecodable", frame(kindSnapshot, u32(3), []byte{1, 2, 3})},
		{"snapshot header not MsgSnap", frame(kindSnapshot, u32(uint32(len(notSnap))), notSnap)},
		{"snapshot chunk over cap", frame(kindSnapshot, u32(uint32(len(snapHdr))), snapHdr, u32(maxChunkBytes+1))},
		{"snapshot bad crc", frame(kindSnapshot, u32(uint32(len(snapHdr))), snapHdr, u32(2), []byte("hi"), u32(0), make([]byte, 12))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := listen(t, testTCPConfig(t))
			rb := newRecorder()
			b.SetReceiver(rb)
			b.SetRPCHandler(func(string, []byte) ([]byte, error) { return nil, nil })
			c, err := net.Dial("tcp", b.Addr())
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write(tc.input)
			require.NoError(t, err)
			// The server closes the connection (for a snapshot, after
			// writing a failed ack).
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			rest, err := io.ReadAll(c)
			require.NoError(t, err, "connection closed by the server")
			require.True(t, len(rest) == 0 || bytes.Equal(rest, []byte{ackFailed}), "got %q", rest)
			poll(t, 5*time.Second, func() bool { return b.Stats().BadFrames == 1 }, func() string {
				return fmt.Sprintf("stats %+v", b.Stats())
			})
			require.Empty(t, rb.snaps)

			// Still serving.
			a := listen(t, testTCPConfig(t))
			a.Send("b", b.Addr(), []byte("ok"), true)
			poll(t, 5*time.Second, func() bool { return rb.has("ok") }, func() string { return "not serving after bad input" })
		})
	}
}

// TestTCPConfigValidate names the offending field.
func TestTCPConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*TCPConfig)
		want  string
	}{
		{"bind", func(c *TCPConfig) { c.BindAddr = "" }, "BindAddr"},
		{"staging", func(c *TCPConfig) { c.StagingDir = "" }, "StagingDir"},
		{"backoff", func(c *TCPConfig) { c.BackoffMax = c.BackoffMin / 2 }, "BackoffMin"},
		{"queue", func(c *TCPConfig) { c.AppendQueueLen = 0 }, "AppendQueueLen"},
		{"rpc cap", func(c *TCPConfig) { c.MaxRPCBytes = 10 }, "MaxRPCBytes"},
		{"timeout", func(c *TCPConfig) { c.ReadTimeout = 0 }, "ReadTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testTCPConfig(t)
			tc.tweak(&cfg)
			_, err := ListenTCP(cfg)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.want), err.Error())
		})
	}
}
