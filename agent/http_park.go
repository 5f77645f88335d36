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
// the connection. While the query waits, that goroutine sits in a Read
// with no deadline, which is how it notices the client leaving (EOF), as
// net/http's background read does (bytes that arrive meanwhile are kept
// for later). The wait ends by
//
//	a write to what the query read    the store calls WatchSet.Notify's
//	                                  callback (wake: no goroutine per
//	                                  watch; it only queues);
//	the wait's end (wait + jitter)    the agent's one timer for all
//	                                  parked connections (parkTimers);
//	the agent stopping                context.AfterFunc on stopCtx.
//
// Each queues the connection for an answerer (http_park_answer.go): a
// small pool that re-reads, renders (once for all the watchers of a key
// one write woke) and writes the answers, bytes as net/http would
// (bufResponse) — or parks the query again if nothing moved. The
// connection's goroutine, still in its Read, then receives the client's
// next request (http_inline.go; a watcher's repeated request is
// recognised without parsing, http_repeat.go): a KV GET is served right
// there — parked again, or answered — and anything else goes back to the
// HTTP server through the listener (limitedListener.resume) with the
// bytes already read in front (resumedConn). The per-client connection
// slot is kept all along.
//
// Only HTTP/1.1 GETs without a body and without "Connection: close" are
// parked; anything else waits in its handler (serveBlocking).

// parkWriteTimeout bounds the write of what did not fit the socket's
// buffer at once: a client that stopped reading loses its connection, not
// a goroutine forever. An answer that fits is written without a deadline
// (setting one costs a timer update per answer).
const parkWriteTimeout = 30 * time.Second

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

// connState is where a parked connection is in its cycle. Transitions
// (all under parkedConn.mu):
//
//	busy -> parked              await: the query waits
//	parked -> answering         a watch fired (wake), the wait expired
//	                            (expire) or the agent stops (stop): the
//	                            claimant queues it for an answerer
//	answering -> parked         the re-read found nothing new (answerer)
//	answering -> answered       the answer is written (answerer)
//	answered -> busy            the next request arrived (await)
//	parked -> gone              the client left (await)
//
// Only the connection's goroutine writes in busy; only the answerer in
// answering. In parked and answered the connection's goroutine waits in a
// Read without a deadline: no timer update per wake.
type connState uint8

const (
	connBusy connState = iota
	connParked
	connAnswering
	connAnswered
	connGone
)

// cutReason is why an answered connection's Read was cut short.
type cutReason uint8

const (
	cutNone  cutReason = iota
	cutNext            // the next request is already in pre (pipelined)
	cutStop            // the agent is stopping
	cutIdle            // no next request within parkIdleTimeout
	cutClose           // the answer's write failed
)

// parkedConn is a hijacked connection and the goroutine that owns it.
type parkedConn struct {
	a  *Agent
	rc *resumedConn

	mu sync.Mutex
	// Guarded by mu:
	state   connState
	why     waitResult // answering: why the wait ended
	p       *parkedQuery
	cut     cutReason // answered: why the Read was cut (cutNone: it was not)
	early   bool      // pre got bytes while the query waited
	gone    bool      // the connection's goroutine saw the client leave while answering
	pending bool      // a watch fired while the query was being parked
	left    *sync.Cond
	stopped bool // the agent is stopping
	reading bool // busy: in a read (c.read) that stop may cut
	idleAt  time.Time
	// deadline is the read deadline last set (setting an unchanged one
	// again would cost a timer update per read).
	deadline time.Time

	// at and slot: the connection's entry in the agent's parkTimers (due
	// at parkEpoch+at; slot -1: none); guarded by parkTimers.mu, changed
	// only under mu too.
	at   time.Duration
	slot int

	untilStop func() bool

	// nb writes the answers (answering: only the answerer uses it).
	nb nbWriter

	// pq is the storage of the query parked from a repeated request
	// (http_repeat.go): no allocation per wake. Reused once answered,
	// when nothing refers to the previous one any more.
	pq parkedQuery

	// tmpl is the last parked request served in place (http_repeat.go);
	// lastRaw a buffer for the next one's bytes. Only the connection's
	// goroutine uses them, as rc.pre.
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
	pc := &parkedConn{a: a, rc: rc, slot: -1}
	pc.left = sync.NewCond(&pc.mu)
	go pc.loop(p)
	return true
}

// loop owns the connection: it parks p, then serves the connection's
// next requests until one goes back to the HTTP server or the connection
// ends.
func (c *parkedConn) loop(p *parkedQuery) {
	c.untilStop = context.AfterFunc(c.a.blocking.stopCtx, c.stop)
	defer c.untilStop()
	defer c.leave()
	for p != nil {
		if !c.await(p) || c.isStopped() {
			c.rc.Close()
			return
		}
		p = c.a.serveNext(c)
	}
}

// leave takes the connection out of the timers: it is closed, or back
// with the HTTP server.
func (c *parkedConn) leave() {
	c.mu.Lock()
	c.state = connGone
	c.a.blocking.timers.remove(c)
	c.mu.Unlock()
}

// stop answers a parked query at once, and cuts any Read (AfterFunc on the
// agent's stopCtx).
func (c *parkedConn) stop() {
	c.mu.Lock()
	c.stopped = true
	switch {
	case c.state == connParked:
		c.claimLocked(waitStopped)
	case c.state == connAnswered && c.cut == cutNone:
		c.cut = cutStop
		c.cutLocked()
	case c.reading:
		c.cutLocked()
	}
	c.mu.Unlock()
}

func (c *parkedConn) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// claimLocked hands a parked query to the answerers; the caller holds mu
// and has checked that the state is parked.
func (c *parkedConn) claimLocked(why waitResult) {
	c.state, c.why = connAnswering, why
	c.a.blocking.answers.push(c)
}

// wake is WatchSet.Notify's callback. It runs in the store's writing
// goroutine (the FSM apply path), so it only queues the connection — or
// notes the wake for whoever is parking the query (busy, answering). A
// late call from an earlier wait only causes a spurious re-read.
func (c *parkedConn) wake() {
	c.mu.Lock()
	if c.state == connParked {
		c.claimLocked(waitFired)
	} else {
		c.pending = true
	}
	c.mu.Unlock()
}

// expire is the connection's parkTimers entry coming due: a parked
// query's wait is over, or an answered connection idled too long.
func (c *parkedConn) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case connParked:
		if now.Before(c.p.deadline) {
			c.a.blocking.timers.set(c, c.p.deadline)
			return
		}
		c.claimLocked(waitExpired)
	case connAnswered:
		if now.Before(c.idleAt) {
			c.a.blocking.timers.set(c, c.idleAt)
			return
		}
		if c.cut == cutNone {
			c.cut = cutIdle
			c.cutLocked()
		}
	}
}

// errCut is a Read cut short by stop.
var errCut = errors.New("agent: read cut")

// read reads from the connection (not from pre) until deadline, for a
// busy connection (a request being read, the idle wait after an answer
// written in place). It returns errCut when stop cut it, at once if stop
// came first.
func (c *parkedConn) read(b []byte, deadline time.Time) (int, error) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return 0, errCut
	}
	c.reading = true
	if !deadline.Equal(c.deadline) {
		c.rc.SetReadDeadline(deadline)
		c.deadline = deadline
	}
	c.mu.Unlock()
	n, err := c.rc.Conn.Read(b)
	c.mu.Lock()
	c.reading = false
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.stopped {
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
)

// await parks p and waits until its answer is written and the client's
// next request arrives (true: its first bytes are in pre), or the
// connection is done (false). The answer itself is written by an
// answerer (http_park_answer.go); this goroutine only reads, which is how
// it notices the client leaving (EOF, as net/http's background read
// does). Bytes the client sends while the query waits are kept for after
// the answer.
func (c *parkedConn) await(p *parkedQuery) bool {
	c.mu.Lock()
	c.p, c.cut, c.early, c.gone, c.pending = p, cutNone, len(c.rc.pre) > 0, false, false
	c.mu.Unlock()
	// Notify before the query is published as parked: nobody else touches
	// p.ws until then (a watch set is not safe for concurrent use).
	if !p.ws.Notify(c.wake) {
		panic("agent: a parked query's watch set has channels Notify cannot watch")
	}
	c.mu.Lock()
	switch {
	case c.stopped:
		c.claimLocked(waitStopped)
	case c.pending:
		c.claimLocked(waitFired)
	default:
		c.state = connParked
		c.a.blocking.timers.set(c, p.deadline)
	}
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if c.state == connAnswered && c.cut != cutNone {
			next := c.cut == cutNext
			c.state, c.cut = connBusy, cutNone
			c.mu.Unlock()
			return next
		}
		if !c.deadline.IsZero() {
			c.rc.SetReadDeadline(time.Time{})
			c.deadline = time.Time{}
		}
		c.mu.Unlock()
		n, err := c.rc.Conn.Read(c.scratch[:])
		c.mu.Lock()
		if n > 0 && len(c.rc.pre)+n <= parkMaxEarlyBytes {
			c.rc.appendPre(c.scratch[:n])
			if c.state == connAnswered {
				c.state, c.cut = connBusy, cutNone
				c.mu.Unlock()
				c.a.blocking.answers.awaitIdle()
				return true
			}
			c.early = true
			c.mu.Unlock()
			continue
		}
		if err != nil && (c.cut != cutNone || errors.Is(err, os.ErrDeadlineExceeded)) {
			c.mu.Unlock()
			continue // a cut (handled above), or a busy read's deadline (cleared above)
		}
		// The client left, failed, or sent too much while waiting.
		switch c.state {
		case connParked:
			c.state = connGone
			c.a.blocking.timers.remove(c)
			c.mu.Unlock()
			p.ws.Close()
			return false
		case connAnswering:
			c.gone = true
			for c.state == connAnswering {
				c.left.Wait()
			}
		}
		c.mu.Unlock()
		return false
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
	return a.watchedRead(q)
}

// respond runs f as the handler would and writes the answer (the
// connection's goroutine, busy).
func (c *parkedConn) respond(p *parkedQuery, f func(w http.ResponseWriter) error) bool {
	b := c.a.renderParked(p, f)
	return c.writeResponse(b)
}

// renderParked runs f as the handler would (wrap: errors mapped, a panic
// is a 500) into a buffer.
func (a *Agent) renderParked(p *parkedQuery, f func(w http.ResponseWriter) error) *bufResponse {
	b := &bufResponse{}
	func() {
		defer func() {
			if v := recover(); v != nil {
				a.panics.Add(1)
				a.log.Error("HTTP handler panic", "method", p.method, "path", p.path, "panic", v)
				*b = bufResponse{}
				http.Error(b, "internal error", http.StatusInternalServerError)
			}
		}()
		if err := f(b); err != nil {
			*b = bufResponse{}
			a.writeError(b, &http.Request{Method: p.method, URL: &url.URL{Path: p.path}}, err)
		}
	}()
	return b
}

// writeResponse writes b on the connection.
func (c *parkedConn) writeResponse(b *bufResponse) bool {
	buf := wireBufs.Get().(*[]byte)
	out := b.appendWire((*buf)[:0], time.Now())
	// One non-blocking attempt; what does not fit (a large answer, or a
	// client that pipelines requests and reads no answers) gets a
	// deadline, so this goroutine is never stuck on a client that stopped
	// reading (net/http's WriteTimeout does the same for its own).
	n, err := c.nb.write(c.rc.Conn, out)
	if err == nil && n < len(out) {
		c.rc.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
		_, err = c.rc.Conn.Write(out[n:])
		c.rc.SetWriteDeadline(time.Time{})
	}
	recycleWire(buf, out)
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
	buf []byte // pre's storage, reused once pre is empty
}

// appendPre adds b to pre, reusing its storage when pre was consumed (a
// watcher's next request per wake would otherwise allocate).
func (c *resumedConn) appendPre(b []byte) {
	if len(c.pre) == 0 && cap(c.buf) >= len(b) {
		c.pre = c.buf[:0]
	}
	c.pre = append(c.pre, b...)
	if cap(c.pre) <= 4<<10 {
		c.buf = c.pre[:0:cap(c.pre)]
	}
}

func (c *resumedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
