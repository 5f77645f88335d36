package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrNotSent is wrapped by Call errors after which the request provably
// never reached the server's handler (dial failed, or the request frame was
// not completely written): a write may be retried elsewhere.
var ErrNotSent = errors.New("transport: request not sent")

// ErrConnLost is wrapped by Call errors where the connection ended after
// the request was sent and before its answer: the outcome is unknown.
var ErrConnLost = errors.New("transport: connection lost before the response")

// RemoteError is the error a server's RPCHandler returned.
type RemoteError struct {
	Method  string
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("transport: %s: remote error: %s", e.Method, e.Message)
}

// Call sends req to the RPCHandler of the server at addr and returns its
// answer. Calls to one address share one connection (request IDs
// multiplex it); ctx bounds the whole call. Errors: ErrNotSent, a
// *RemoteError, ErrConnLost, or ctx's error (outcome unknown).
func (t *TCP) Call(ctx context.Context, addr, method string, req []byte) ([]byte, error) {
	t.stats.rpcCalls.Add(1)
	if len(method) == 0 || len(method) > maxMethodLen {
		return nil, fmt.Errorf("%w: method name of %d bytes, want 1..%d", ErrNotSent, len(method), maxMethodLen)
	}
	if n := rpcRequestFixed + len(method) + len(req); n > int(t.cfg.MaxRPCBytes) {
		return nil, fmt.Errorf("%w: request of %d bytes, limit %d", ErrNotSent, n, t.cfg.MaxRPCBytes)
	}
	rc, err := t.rpcConnFor(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrNotSent, addr, method, err)
	}
	id, ch, ok := rc.register()
	if !ok {
		return nil, fmt.Errorf("%w: %s %s: connection closed", ErrNotSent, addr, method)
	}
	if err := rc.write(encodeRequest(id, method, req)); err != nil {
		rc.unregister(id)
		return nil, fmt.Errorf("%w: %s %s: %w", ErrNotSent, addr, method, err)
	}
	answer := func(r rpcResponse) ([]byte, error) {
		if r.status == statusError {
			return nil, &RemoteError{Method: method, Message: string(r.body)}
		}
		return r.body, nil
	}
	select {
	case r := <-ch:
		return answer(r)
	case <-ctx.Done():
		rc.unregister(id) // a late answer is discarded
		return nil, fmt.Errorf("transport: call %s %s: %w", addr, method, ctx.Err())
	case <-rc.done:
		select {
		case r := <-ch: // answered just before the end
			return answer(r)
		default:
		}
		return nil, fmt.Errorf("%w: %s %s: %v", ErrConnLost, addr, method, rc.cause())
	}
}

// rpcClientEntry is the pooled RPC connection to one address.
type rpcClientEntry struct {
	mu   sync.Mutex // serialises dialing to the address
	conn *rpcConn   // guarded by mu; nil or possibly ended
}

// rpcConnFor returns a live pooled connection to addr, dialing if needed.
func (t *TCP) rpcConnFor(ctx context.Context, addr string) (*rpcConn, error) {
	t.mu.Lock()
	if t.isClosed() {
		t.mu.Unlock()
		return nil, net.ErrClosed
	}
	e := t.rpcs[addr]
	if e == nil {
		e = &rpcClientEntry{}
		t.rpcs[addr] = e
	}
	t.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if rc := e.conn; rc != nil && rc.usable() {
		return rc, nil
	}
	c, err := t.dial(ctx, addr, kindRPC)
	if err != nil {
		return nil, err
	}
	rc := &rpcConn{t: t, c: c, pending: make(map[uint64]chan rpcResponse), lastUsed: t.clk.Now(), done: make(chan struct{})}
	if !t.spawn(rc.readLoop) {
		t.untrack(c)
		return nil, net.ErrClosed
	}
	e.conn = rc
	return rc, nil
}

// rpcConn is one client connection carrying many calls.
type rpcConn struct {
	t   *TCP
	c   net.Conn
	wmu sync.Mutex // one frame written at a time

	mu       sync.Mutex
	pending  map[uint64]chan rpcResponse // calls awaiting an answer; guarded by mu
	nextID   uint64                      // guarded by mu
	lastUsed time.Time                   // clock time of the last request or answer; guarded by mu
	err      error                       // why the connection ended; guarded by mu
	done     chan struct{}               // closed when it ended
}

// usable reports whether new calls may use the connection. An idle one is
// retired before the server's IdleTimeout could close it under a call.
func (rc *rpcConn) usable() bool {
	rc.mu.Lock()
	ended := rc.err != nil
	idle := len(rc.pending) == 0 && rc.t.clk.Now().Sub(rc.lastUsed) >= rc.t.cfg.IdleTimeout/2
	rc.mu.Unlock()
	if !ended && idle {
		rc.fail(errors.New("idle"))
	}
	return !ended && !idle
}

func (rc *rpcConn) register() (uint64, chan rpcResponse, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.err != nil {
		return 0, nil, false
	}
	rc.nextID++
	ch := make(chan rpcResponse, 1)
	rc.pending[rc.nextID] = ch
	rc.lastUsed = rc.t.clk.Now()
	return rc.nextID, ch, true
}

func (rc *rpcConn) unregister(id uint64) {
	rc.mu.Lock()
	delete(rc.pending, id)
	rc.mu.Unlock()
}

// write sends one whole frame. A failed write leaves a partial frame on the
// stream, so the connection is ended: the server never saw the request.
func (rc *rpcConn) write(frame []byte) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	_ = rc.c.SetWriteDeadline(time.Now().Add(rc.t.cfg.WriteTimeout))
	if _, err := rc.c.Write(frame); err != nil {
		rc.fail(err)
		return err
	}
	return nil
}

func (rc *rpcConn) readLoop() {
	br := bufio.NewReaderSize(rc.c, 64<<10)
	for {
		b, err := readFrame(br, rc.t.cfg.MaxRPCBytes)
		if err == nil {
			var r rpcResponse
			if r, err = parseResponse(b); err == nil {
				rc.deliver(r)
				continue
			}
		}
		if errors.Is(err, ErrBadFrame) {
			rc.t.stats.badFrames.Add(1)
		}
		rc.fail(err)
		return
	}
}

func (rc *rpcConn) deliver(r rpcResponse) {
	rc.mu.Lock()
	ch := rc.pending[r.id]
	delete(rc.pending, r.id)
	rc.lastUsed = rc.t.clk.Now()
	rc.mu.Unlock()
	if ch != nil {
		ch <- r // buffered: never blocks
	}
}

// fail ends the connection once; pending calls see done.
func (rc *rpcConn) fail(err error) {
	rc.mu.Lock()
	first := rc.err == nil
	if first {
		rc.err = err
	}
	rc.mu.Unlock()
	if first {
		close(rc.done)
		rc.t.untrack(rc.c)
	}
}

func (rc *rpcConn) cause() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.err
}

// serveRPC reads requests and answers each from its own goroutine, at most
// MaxConcurrentRPC at once. Handlers are not waited for by Close: one may
// run for as long as a blocking query, and its late answer just fails to be
// written.
func (t *TCP) serveRPC(c net.Conn, br *bufio.Reader) error {
	s := &rpcServerConn{t: t, c: c, sem: make(chan struct{}, t.cfg.MaxConcurrentRPC)}
	for {
		s.idleDeadline()
		n, err := readHeader(br, t.cfg.MaxRPCBytes)
		if err != nil {
			return err
		}
		s.bodyDeadline()
		b, err := readBody(br, n)
		if err != nil {
			return err
		}
		req, err := parseRequest(b)
		if err != nil {
			return err
		}
		s.sem <- struct{}{}
		s.begin()
		go s.handle(req)
	}
}

// rpcServerConn is the server side of one RPC connection.
type rpcServerConn struct {
	t   *TCP
	c   net.Conn
	sem chan struct{} // one token per running handler
	wmu sync.Mutex    // one answer written at a time

	dmu         sync.Mutex
	inflight    int  // running handlers; guarded by dmu
	readingBody bool // the reader is inside a frame (ReadTimeout armed); guarded by dmu
}

// idleDeadline arms the idle timeout only while no call runs: a forwarded
// blocking query may legitimately keep the connection silent for minutes.
func (s *rpcServerConn) idleDeadline() {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.readingBody = false
	if s.inflight == 0 {
		_ = s.c.SetReadDeadline(time.Now().Add(s.t.cfg.IdleTimeout))
	} else {
		_ = s.c.SetReadDeadline(time.Time{})
	}
}

// bodyDeadline arms ReadTimeout for the rest of a frame.
func (s *rpcServerConn) bodyDeadline() {
	s.dmu.Lock()
	s.readingBody = true
	_ = s.c.SetReadDeadline(time.Now().Add(s.t.cfg.ReadTimeout))
	s.dmu.Unlock()
}

func (s *rpcServerConn) begin() {
	s.dmu.Lock()
	s.inflight++
	s.dmu.Unlock()
}

func (s *rpcServerConn) handle(req rpcRequest) {
	status, body := statusOK, []byte(nil)
	if hp := s.t.handler.Load(); hp == nil {
		status, body = statusError, []byte("transport: no RPC handler")
	} else if resp, err := (*hp)(req.method, req.body); err != nil {
		status, body = statusError, []byte(err.Error())
	} else {
		body = resp
	}
	if rpcResponseFixed+len(body) > int(s.t.cfg.MaxRPCBytes) {
		status, body = statusError, fmt.Appendf(nil, "transport: response of %d bytes over the %d byte cap", len(body), s.t.cfg.MaxRPCBytes)
	}
	frame := encodeResponse(req.id, status, body)
	s.wmu.Lock()
	_ = s.c.SetWriteDeadline(time.Now().Add(s.t.cfg.WriteTimeout))
	_, err := s.c.Write(frame)
	s.wmu.Unlock()
	if err != nil {
		_ = s.c.Close() // a partial answer corrupts the stream
	} else {
		s.t.stats.rpcServed.Add(1)
	}
	s.dmu.Lock()
	s.inflight--
	if s.inflight == 0 && !s.readingBody {
		// The reader is waiting for the next request.
		_ = s.c.SetReadDeadline(time.Now().Add(s.t.cfg.IdleTimeout))
	}
	s.dmu.Unlock()
	<-s.sem
}
