package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// RPCHandler answers one client call. It runs on its own goroutine per
// request; an error is returned to the caller as a *RemoteError.
type RPCHandler func(method string, req []byte) ([]byte, error)

// TCP is a server's network endpoint: it implements driver.Transport over
// TCP and serves and makes RPC calls on the same listener. Safe for
// concurrent use.
type TCP struct {
	cfg TCPConfig
	clk clock.Clock
	log *slog.Logger
	ln  net.Listener

	recv    atomic.Pointer[Receiver]   // nil until SetReceiver
	handler atomic.Pointer[RPCHandler] // nil until SetRPCHandler
	stats   counters

	// closed is closed by Close, under mu: whoever checks it under mu
	// before wg.Add cannot race Close's wg.Wait.
	closed    chan struct{}
	closeOnce sync.Once
	ctx       context.Context // canceled by Close; bounds dials
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine the transport started

	mu sync.Mutex
	// conns holds every open connection, inbound and outbound, so that
	// Close can unblock their goroutines.
	conns map[net.Conn]struct{}      // guarded by mu
	peers map[string]*peer           // Raft lanes by address; guarded by mu
	rpcs  map[string]*rpcClientEntry // RPC client connections by address; guarded by mu
}

var _ driver.Transport = (*TCP)(nil)

// ListenTCP binds cfg.BindAddr and starts accepting. Raft messages that
// arrive before SetReceiver are dropped; RPCs before SetRPCHandler fail.
func ListenTCP(cfg TCPConfig) (*TCP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := prepareStaging(cfg.StagingDir); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", cfg.BindAddr, err)
	}
	t := &TCP{
		cfg: cfg, clk: cfg.Clock, log: cfg.Logger, ln: ln,
		closed: make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
		peers:  make(map[string]*peer),
		rpcs:   make(map[string]*rpcClientEntry),
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if t.clk == nil {
		t.clk = clock.Real{}
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// prepareStaging creates dir and removes staged files a crash left behind
// (nobody can hold them yet).
func prepareStaging(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("transport: staging dir %s: %w", dir, err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, stagedPattern))
	if err != nil {
		return fmt.Errorf("transport: staging dir %s: %w", dir, err)
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("transport: remove stale %s: %w", p, err)
		}
	}
	return nil
}

// Addr is the bound listen address (with the chosen port).
func (t *TCP) Addr() string { return t.ln.Addr().String() }

// SetReceiver attaches the Raft side (a *driver.Driver): received messages
// and snapshots go to it, and so do unreachable reports.
func (t *TCP) SetReceiver(r Receiver) { t.recv.Store(&r) }

// SetRPCHandler installs the handler for incoming calls.
func (t *TCP) SetRPCHandler(h RPCHandler) { t.handler.Store(&h) }

func (t *TCP) receiver() Receiver {
	if p := t.recv.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats returns the counters.
func (t *TCP) Stats() TCPStats { return t.stats.snapshot() }

// Close stops accepting, closes every connection, fails pending calls and
// snapshot streams, and waits for the transport's goroutines. Later sends
// are dropped.
func (t *TCP) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.closed)
		t.cancel()
		err = t.ln.Close()
		for c := range t.conns {
			_ = c.Close()
		}
		t.mu.Unlock()
	})
	t.wg.Wait()
	return err
}

func (t *TCP) isClosed() bool {
	select {
	case <-t.closed:
		return true
	default:
		return false
	}
}

// track registers c for Close; false (and c closed) once closing.
func (t *TCP) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		_ = c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

// spawn runs f on a tracked goroutine; false (f not run) once closing.
func (t *TCP) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

func (t *TCP) untrack(c net.Conn) {
	_ = c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// dial connects to addr and writes the connection preamble. The returned
// connection is tracked.
func (t *TCP) dial(ctx context.Context, addr string, kind byte) (net.Conn, error) {
	t.stats.dials.Add(1)
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.ctx, cancel)() // a dial must not outlive Close
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	if !t.track(c) {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, net.ErrClosed)
	}
	_ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if _, err := c.Write([]byte{kind, wireVersion}); err != nil {
		t.untrack(c)
		t.stats.dialErrors.Add(1)
		return nil, fmt.Errorf("transport: dial %s: preamble: %w", addr, err)
	}
	return c, nil
}

func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	var failures int
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off so as not to
			// spin, and keep serving the connections we have.
			failures++
			t.log.Warn("transport: accept", "err", err)
			if !t.wait(t.cfg.backoff(failures)) {
				return
			}
			continue
		}
		failures = 0
		if !t.track(c) {
			return
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.untrack(c)
			t.serveConn(c)
		}()
	}
}

// wait waits d on the transport's clock; false if the transport closed.
func (t *TCP) wait(d time.Duration) bool {
	fired := make(chan struct{})
	timer := t.clk.AfterFunc(d, func() { close(fired) })
	select {
	case <-fired:
		return true
	case <-t.closed:
		timer.Stop()
		return false
	}
}

// serveConn reads the preamble and runs the connection's protocol until
// it ends. Malformed input closes the connection and is counted.
func (t *TCP) serveConn(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(t.cfg.ReadTimeout))
	var pre [2]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return
	}
	var err error
	switch {
	case pre[1] != wireVersion:
		err = fmt.Errorf("%w: wire version %d, want %d", ErrBadFrame, pre[1], wireVersion)
	case pre[0] == kindRaftPriority || pre[0] == kindRaftAppend:
		err = t.serveRaft(c, br)
	case pre[0] == kindSnapshot:
		err = t.serveSnapshot(c, br)
	case pre[0] == kindRPC:
		err = t.serveRPC(c, br)
	default:
		err = fmt.Errorf("%w: connection kind %#x", ErrBadFrame, pre[0])
	}
	if errors.Is(err, ErrBadFrame) {
		t.stats.badFrames.Add(1)
		t.log.Warn("transport: closing connection", "remote", c.RemoteAddr().String(), "err", err)
	} else if err != nil && !t.isClosed() {
		t.log.Debug("transport: connection ended", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// serveRaft delivers every frame of a Raft lane. The receiver decodes (and
// counts undecodable payloads); this side only enforces the frame cap.
func (t *TCP) serveRaft(c net.Conn, br *bufio.Reader) error {
	for {
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.IdleTimeout))
		n, err := readHeader(br, raft.MaxMessageBytes)
		if err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.ReadTimeout))
		payload, err := readBody(br, n)
		if err != nil {
			return err
		}
		t.stats.received.Add(1)
		if r := t.receiver(); r != nil {
			r.Deliver(payload)
		}
	}
}

// Send implements driver.Transport: it queues payload on the peer's lane
// and never blocks.
func (t *TCP) Send(to raft.NodeID, addr string, payload []byte, priority bool) {
	if t.isClosed() {
		return
	}
	p := t.peer(addr)
	if p == nil {
		return
	}
	l := p.bulk
	if priority {
		l = p.prio
	}
	l.enqueue(to, payload)
}

func (t *TCP) reportUnreachable(to raft.NodeID) {
	if r := t.receiver(); r != nil {
		r.ReportUnreachable(to)
	}
}
