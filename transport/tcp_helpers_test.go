package transport

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// testTCPConfig is a config for loopback tests: an ephemeral port, short
// backoff, and timeouts long enough never to fire by accident under -race.
func testTCPConfig(t testing.TB) TCPConfig {
	cfg := DefaultTCPConfig("127.0.0.1:0", t.TempDir())
	cfg.BackoffMin = time.Millisecond
	cfg.BackoffMax = 20 * time.Millisecond
	return cfg
}

func listen(t testing.TB, cfg TCPConfig) *TCP {
	t.Helper()
	tr, err := ListenTCP(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// recorder is a Receiver that records what it gets.
type recorder struct {
	mu          sync.Mutex
	payloads    [][]byte
	snaps       []recordedSnap
	unreachable map[raft.NodeID]int
}

type recordedSnap struct {
	m    raft.Message
	data []byte
}

func newRecorder() *recorder { return &recorder{unreachable: map[raft.NodeID]int{}} }

func (r *recorder) Deliver(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, p)
}

// hasPrefix reports whether a delivered payload starts with prefix.
func (r *recorder) hasPrefix(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.payloads {
		if strings.HasPrefix(string(p), prefix) {
			return true
		}
	}
	return false
}

func (r *recorder) DeliverSnapshot(m raft.Message, s driver.Staged) {
	rc, err := s.Open()
	var data []byte
	if err == nil {
		data, err = io.ReadAll(rc)
		_ = rc.Close()
	}
	if err != nil {
		panic(err)
	}
	_ = s.Remove()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, recordedSnap{m, data})
}

func (r *recorder) ReportUnreachable(id raft.NodeID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreachable[id]++
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.payloads)
}

func (r *recorder) has(p string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.payloads {
		if string(q) == p {
			return true
		}
	}
	return false
}

func (r *recorder) unreachableCount(id raft.NodeID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreachable[id]
}

// poll checks cond every millisecond until it holds or timeout passes.
func poll(t testing.TB, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatal(why())
		case <-tick.C:
		}
	}
}

// manualClock is a clock that moves only when told. Its timers never fire
// (only the accept-error backoff uses AfterFunc, and no test provokes it).
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock { return &manualClock{now: time.Unix(1_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *manualClock) AfterFunc(time.Duration, func()) clock.Timer { return neverTimer{} }

type neverTimer struct{}

func (neverTimer) Stop() bool { return true }

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// fakePeer is a raw listener whose per-connection behaviour a test picks
// by connection kind.
type fakePeer struct {
	ln    net.Listener
	serve func(kind byte, c net.Conn)
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newFakePeer(t testing.TB, serve func(kind byte, c net.Conn)) *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &fakePeer{ln: ln, serve: serve}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				var pre [2]byte
				if _, err := io.ReadFull(c, pre[:]); err != nil {
					return
				}
				p.serve(pre[0], c)
			}()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *fakePeer) addr() string { return p.ln.Addr().String() }

func (p *fakePeer) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
