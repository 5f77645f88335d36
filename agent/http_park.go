package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/agentd/agentd/store"
)

// Parking a blocking query.
//
// While a handler runs, net/http keeps the connection's goroutine (with
// the handler's whole stack), a background-read goroutine that notices the
// client leaving, 4 KiB read and write buffers, a 2 KiB chunking buffer and
// the parsed request: 30–40 KB per waiting watcher, 300–400 MB for 10,000.
// A query that has to wait is parked instead: its HTTP/1.1 connection is
// hijacked, the handler returns, and one goroutine (parkedConn.loop) owns
// the connection. It waits in a Read, which is how it notices the client
// leaving (EOF), as net/http's background read does (bytes that arrive
// meanwhile are kept for later); the Read is cut short (a read deadline in
// the past) by
//
//	a write to what the query read    the store calls WatchSet.Notify's
//	                                  callback (no goroutine per watch);
//	the wait's end (wait + jitter)    the read deadline itself;
//	the agent stopping                context.AfterFunc on stopCtx.
//
// Woken, it re-reads; once the index moved (or on timeout/stop) it writes
// the answer itself, bytes as net/http would (bufResponse). Then it reads
// the client's next request (http_inline.go; a watcher's repeated request
// is recognised without parsing, http_repeat.go): a KV GET is served
// right there — parked again, or answered — and anything else goes back to
// the HTTP server through the listener (limitedListener.resume) with the
// bytes already read in front (resumedConn). The per-client connection
// slot is kept all along.
//
// Only HTTP/1.1 GETs without a body and without "Connection: close" are
// parked; anything else waits in its handler (serveBlocking).

// parkWriteTimeout bounds the write of an answer too large to be sure to
// fit the socket's buffer: a client that stopped reading loses its
// connection, not a goroutine forever. Smaller answers are written without
// a deadline (setting one costs a timer update per answer).
const (
	parkWriteTimeout  = 30 * time.Second
	parkDeadlineBytes = 4 << 10
)

// parkIdleTimeout is how long a connection whose answer was written waits
// for its next request: the HTTP server's IdleTimeout (startHTTP).
const parkIdleTimeout = 2 * time.Minute

// parkMaxEarlyBytes bounds what a client may send while its query waits
// (pipelined requests, kept for after the answer).
const parkMaxEarlyBytes = 64 << 10

// aLongTimeAgo is a read deadline that cuts a blocked Read at once.
var aLongTimeAgo = time.Unix(1, 0)

// parkable reports whether r's connection can be parked.
func parkable(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close ||
		r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	_, ok := w.(http.Hijacker)
	return ok
}

// parkedQuery is one waiting blocking query.
type parkedQuery struct {
	q        blockingQuery
	ws       *store.WatchSet // the last read's watches
	meta     queryMeta       // the last read's facts
	deadline time.Time       // wait plus jitter, from the request's arrival
	method   string          // method and path name the request in logs
	path     string
}

// parkedConn is a hijacked connection and the goroutine that owns it.
type parkedConn struct {
	a  *Agent
	rc *resumedConn

	// mu guards the fields below, so that a wake never cuts a Read it is
	// not meant for (an idle wait, a request being read).
	mu        sync.Mutex
	reading   bool // in a Read that stop may cut
	wakeable  bool // ... that a watch firing may cut too
	woken     bool // a watch fired since the wait began
	stopped   bool // the agent is stopping
	untilStop func() bool
	// deadline is the read deadline last set (setting an unchanged one
	// again would cost a timer update per read).
	deadline time.Time

	// tmpl is the last parked request served in place (http_repeat.go);
	// lastRaw a buffer for the next one's bytes. Only the connection's
	// goroutine uses them.
	tmpl    *repeatTemplate
	lastRaw []byte

	// scratch takes the wait's and the idle wait's reads (a local array
	// would escape): large enough for a watcher's whole next request in
	// one read.
	scratch [512]byte
}

// cutLocked cuts a blocked Read; the caller holds mu.
func (c *parkedConn) cutLocked() {
	c.rc.SetReadDeadline(aLongTimeAgo)
	c.deadline = aLongTimeAgo
}

// park hijacks r's connection and leaves q waiting on ws with the first
// read's meta. False: the connection could not be hijacked; nothing
// changed and the caller still owns w and ws.
func (a *Agent) park(w http.ResponseWriter, r *http.Request, q blockingQuery, ws *store.WatchSet, meta queryMeta, deadline time.Time) bool {
	p := &parkedQuery{q: q, ws: ws, meta: meta, deadline: deadline, method: r.Method, path: r.URL.Path}
	if iw, ok := w.(*inlineWriter); ok {
		iw.parked = p // the connection's own goroutine runs it (http_inline.go)
		return true
	}
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return false
	}
	rc, ok := c.(*resumedConn)
	if !ok {
		rc = &resumedConn{Conn: c}
	}
	if n := brw.Reader.Buffered(); n > 0 {
		// The client sent more (pipelining): its next request, in front
		// of what net/http had not read of an earlier pre yet.
		b, _ := brw.Reader.Peek(n)
		rc.pre = append(append([]byte(nil), b...), rc.pre...)
	}
	pc := &parkedConn{a: a, rc: rc}
	go pc.loop(p)
	return true
}

// loop owns the connection: it answers p, then serves the connection's
// next requests until one goes back to the HTTP server or the connection
// ends.
func (c *parkedConn) loop(p *parkedQuery) {
	c.untilStop = context.AfterFunc(c.a.blocking.stopCtx, c.stop)
	defer c.untilStop()
	for p != nil {
		if !c.answer(p) || c.isStopped() {
			c.rc.Close()
			return
		}
		p = c.a.serveNext(c)
	}
}

// stop cuts any Read (AfterFunc on the agent's stopCtx).
func (c *parkedConn) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.reading {
		c.cutLocked()
	}
	c.mu.Unlock()
}

func (c *parkedConn) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// wake cuts the wait's Read (WatchSet.Notify's callback; a late call from
// an earlier wait only causes a spurious re-read).
func (c *parkedConn) wake() {
	c.mu.Lock()
	c.woken = true
	if c.reading && c.wakeable {
		c.cutLocked()
	}
	c.mu.Unlock()
}

// errCut is a Read cut short by wake or stop.
var errCut = errors.New("agent: read cut")

// read reads from the connection (not from pre) until deadline; wakeable
// lets a watch firing cut it. It returns errCut when cut, at once if the
// cause came first.
func (c *parkedConn) read(b []byte, deadline time.Time, wakeable bool) (int, error) {
	c.mu.Lock()
	if c.stopped || (wakeable && c.woken) {
		c.mu.Unlock()
		return 0, errCut
	}
	c.reading, c.wakeable = true, wakeable
	if !deadline.Equal(c.deadline) {
		c.rc.SetReadDeadline(deadline)
		c.deadline = deadline
	}
	c.mu.Unlock()
	n, err := c.rc.Conn.Read(b)
	c.mu.Lock()
	c.reading = false
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && (c.stopped || (wakeable && c.woken)) {
		err = errCut
	}
	c.mu.Unlock()
	return n, err
}

// waitResult is why a parked query's wait ended.
type waitResult uint8

const (
	waitFired   waitResult = iota // a watch fired: re-read
	waitExpired                   // the wait (plus jitter) is over
	waitStopped                   // the agent is stopping
	waitGone                      // the client left (or misbehaved)
)

// wait blocks until a watch in p.ws fires, p's deadline passes, the agent
// stops or the client leaves. Bytes the client sends meanwhile are kept
// for after the answer, as net/http's background read keeps its byte.
func (c *parkedConn) wait(p *parkedQuery) waitResult {
	c.mu.Lock()
	c.woken = false
	c.mu.Unlock()
	if !p.ws.Notify(c.wake) {
		panic("agent: a parked query's watch set has channels Notify cannot watch")
	}
	for {
		n, err := c.read(c.scratch[:], p.deadline, true)
		switch {
		case n > 0:
			if len(c.rc.pre)+n > parkMaxEarlyBytes {
				return waitGone
			}
			c.rc.pre = append(c.rc.pre, c.scratch[:n]...)
		case errors.Is(err, errCut):
			if c.isStopped() {
				return waitStopped
			}
			return waitFired
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !time.Now().Before(p.deadline) {
				return waitExpired
			}
			// A late cut meant for an earlier Read: wait on.
		default:
			return waitGone
		}
	}
}

// answer waits for p's answer and writes it. False: nothing was written
// (the client left, or the write failed); the connection is done.
func (c *parkedConn) answer(p *parkedQuery) bool {
	for {
		res := c.wait(p)
		p.ws.Close()
		if res == waitFired && p.ws.Abandoned() {
			meta, err := c.a.readFresh(c.a.blocking.stopCtx, p.q.o, p.q.read)
			if err != nil {
				return c.respond(p, func(http.ResponseWriter) error { return err })
			}
			p.meta = meta
			return c.respond(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
		}
		switch res {
		case waitGone:
			return false
		case waitExpired, waitStopped:
			// The last read's answer, with its unchanged index.
			return c.respond(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
		}
		meta, ws, err := c.a.reread(p.q)
		if err != nil {
			return c.respond(p, func(http.ResponseWriter) error { return err })
		}
		p.meta, p.ws = meta, ws
		if ws == nil {
			return c.respond(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
		}
	}
}

// reread runs q after a wake. The common case, the index moved, costs one
// read and no watch; otherwise the read is repeated under a new watch set
// (watch first, then read: no write is missed), returned for the next
// wait. ws is nil when the answer is ready.
func (a *Agent) reread(q blockingQuery) (queryMeta, *store.WatchSet, error) {
	ctx := a.blocking.stopCtx
	if err := a.barrier(ctx, q.o.consistency); err != nil {
		return queryMeta{}, nil, err
	}
	idx, err := q.read(nil)
	if err != nil {
		return queryMeta{}, nil, err
	}
	if idx > q.o.minIndex {
		return a.queryMeta(idx, q.o.consistency), nil, nil
	}
	ws := store.NewWatchSet()
	if idx, err = q.read(ws); err != nil {
		ws.Close()
		return queryMeta{}, nil, err
	}
	meta := a.queryMeta(idx, q.o.consistency)
	if idx > q.o.minIndex {
		ws.Close()
		return meta, nil, nil
	}
	return meta, ws, nil
}

// respond runs f as the handler would (wrap: errors mapped, a panic is a
// 500) into a buffer and writes it.
func (c *parkedConn) respond(p *parkedQuery, f func(w http.ResponseWriter) error) bool {
	var b bufResponse
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.a.panics.Add(1)
				c.a.log.Error("HTTP handler panic", "method", p.method, "path", p.path, "panic", v)
				b = bufResponse{}
				http.Error(&b, "internal error", http.StatusInternalServerError)
			}
		}()
		if err := f(&b); err != nil {
			b = bufResponse{}
			c.a.writeError(&b, &http.Request{Method: p.method, URL: &url.URL{Path: p.path}}, err)
		}
	}()
	return c.writeResponse(&b)
}

// writeResponse writes b on the connection.
func (c *parkedConn) writeResponse(b *bufResponse) bool {
	buf := wireBufs.Get().(*[]byte)
	out := b.appendWire((*buf)[:0], time.Now())
	big := len(out) > parkDeadlineBytes
	if big {
		c.rc.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
	}
	_, err := c.rc.Write(out)
	if big {
		c.rc.SetWriteDeadline(time.Time{})
	}
	if cap(out) <= 64<<10 {
		*buf = out
		wireBufs.Put(buf)
	}
	return err == nil
}

// wireBufs recycles answer buffers.
var wireBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// resumedConn is a hijacked connection: reads return pre (bytes of the
// next request already read) first. A connection parked again keeps its
// resumedConn, so wrappers never nest.
type resumedConn struct {
	net.Conn
	pre []byte
}

func (c *resumedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
