package agent

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
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
// hijacked and the handler returns, freeing all of that. What stays is
//
//	a waiter goroutine   waits on the watch set, the deadline (wait plus
//	                     jitter) and the agent's stop, then re-reads; once
//	                     the index moved (or on timeout/stop) it writes the
//	                     answer itself, bytes as net/http would (bufResponse);
//	a reader goroutine   a 1-byte Read on the connection: EOF or an error
//	                     means the client left (the wait is cancelled and the
//	                     connection closed, as net/http's background read
//	                     does); a byte is the start of the client's next
//	                     request, kept for the server;
//
// both started small (2 KiB stacks). When both are done — the answer
// written and the next request begun — the connection goes back to the
// HTTP server through the listener (limitedListener.resume), with the byte
// in front of it (resumedConn), and net/http serves it like a new one. Its
// per-client connection slot is kept all along.
//
// Only HTTP/1.1 GETs without a body and without "Connection: close" are
// parked; anything else waits in its handler (serveBlocking).

// parkWriteTimeout bounds the write of a parked query's answer: a client
// that stopped reading loses its connection, not a goroutine forever.
const parkWriteTimeout = 30 * time.Second

// parkIdleTimeout is how long a connection whose query was answered waits
// for its next request: the HTTP server's IdleTimeout (startHTTP).
const parkIdleTimeout = 2 * time.Minute

// parkable reports whether r's connection can be parked.
func parkable(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close ||
		r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	_, ok := w.(http.Hijacker)
	return ok
}

// parkedQuery is one parked blocking query and its connection.
type parkedQuery struct {
	a    *Agent
	q    blockingQuery
	conn *resumedConn
	// ws and meta are the last read's watches and facts; only the waiter
	// touches them.
	ws   *store.WatchSet
	meta queryMeta
	// method and path name the request in logs and errors.
	method, path string

	// clientCtx ends when the client leaves (the reader) or the agent
	// stops; waitCtx adds the deadline.
	clientCtx  context.Context
	clientStop context.CancelFunc
	waitCtx    context.Context
	waitStop   context.CancelFunc
	gone       atomic.Bool // the reader saw the client leave

	// The last of the waiter and the reader to finish decides what happens
	// to the connection (finish). Guarded by mu.
	mu       sync.Mutex
	answered bool // the waiter is done
	wrote    bool // ... and wrote the answer (else it closed the connection)
	readDone bool // the reader is done
	readFail bool // ... and the read failed (else conn.pre holds a byte)
}

// park hijacks r's connection and leaves q waiting on ws with the first
// read's meta. False: the connection could not be hijacked; nothing
// changed and the caller still owns w and ws.
func (a *Agent) park(w http.ResponseWriter, r *http.Request, q blockingQuery, ws *store.WatchSet, meta queryMeta, deadline time.Time) bool {
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return false
	}
	rc, ok := c.(*resumedConn)
	if !ok {
		rc = &resumedConn{Conn: c}
	}
	p := &parkedQuery{a: a, q: q, conn: rc, ws: ws, meta: meta, method: r.Method, path: r.URL.Path}
	if n := brw.Reader.Buffered(); n > 0 {
		// The client sent more (pipelining): that is its next request.
		b, _ := brw.Reader.Peek(n)
		rc.pre = append([]byte(nil), b...)
		p.readDone = true
	}
	p.clientCtx, p.clientStop = context.WithCancel(a.blocking.stopCtx)
	p.waitCtx, p.waitStop = context.WithDeadline(p.clientCtx, deadline)
	go p.wait()
	if !p.readDone {
		go p.readNext()
	}
	return true
}

// wait is the waiter goroutine.
func (p *parkedQuery) wait() {
	wrote := p.answer()
	p.waitStop()
	p.clientStop()
	if wrote {
		// As net/http: an answered connection waits IdleTimeout for more.
		p.conn.SetReadDeadline(time.Now().Add(parkIdleTimeout))
	}
	p.mu.Lock()
	p.answered, p.wrote = true, wrote
	readDone := p.readDone
	p.mu.Unlock()
	switch {
	case !wrote:
		p.conn.Close() // also ends the reader
	case readDone:
		p.finish()
	}
}

// answer waits, re-reads until the index moves past ?index (or the wait
// ends), and writes the answer. It reports whether it wrote one: not when
// the client left, or the write failed.
func (p *parkedQuery) answer() bool {
	for p.ws.Wait(p.waitCtx) {
		meta, err := p.a.readOnce(p.clientCtx, p.q.o, p.q.read, &p.ws)
		if err != nil {
			if p.gone.Load() {
				return false
			}
			return p.respond(func(http.ResponseWriter) error { return err })
		}
		p.meta = meta
		if meta.index > p.q.o.minIndex {
			p.ws.Close()
			break
		}
	}
	if p.gone.Load() {
		return false // nobody to answer
	}
	// Timed out or shut down: the last read's answer, index unchanged.
	return p.respond(func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
}

// respond runs f as the handler would (wrap: errors mapped, a panic is a
// 500) into a buffer and writes it to the connection.
func (p *parkedQuery) respond(f func(w http.ResponseWriter) error) bool {
	var b bufResponse
	func() {
		defer func() {
			if v := recover(); v != nil {
				p.a.panics.Add(1)
				p.a.log.Error("HTTP handler panic", "method", p.method, "path", p.path, "panic", v)
				b = bufResponse{}
				http.Error(&b, "internal error", http.StatusInternalServerError)
			}
		}()
		if err := f(&b); err != nil {
			b = bufResponse{}
			req := &http.Request{Method: p.method, URL: &url.URL{Path: p.path}}
			p.a.writeError(&b, req, err)
		}
	}()
	out := b.appendWire(make([]byte, 0, 256+len(b.body)), time.Now())
	p.conn.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
	_, err := p.conn.Write(out)
	p.conn.SetWriteDeadline(time.Time{})
	return err == nil
}

// readNext is the reader goroutine: it waits for the client's next byte.
func (p *parkedQuery) readNext() {
	var b [1]byte
	n, _ := p.conn.Conn.Read(b[:])
	if n == 0 {
		p.gone.Store(true)
		p.clientStop()
	}
	p.mu.Lock()
	if n == 1 {
		p.conn.pre = append(p.conn.pre[:0], b[0])
	}
	p.readDone, p.readFail = true, n == 0
	answered, wrote := p.answered, p.wrote
	p.mu.Unlock()
	if answered && wrote {
		p.finish()
	}
}

// finish runs once, in whichever of the waiter and the reader finished
// last, after an answer was written: the connection serves again, or
// closes when the client left.
func (p *parkedQuery) finish() {
	if p.readFail {
		p.conn.Close()
		return
	}
	p.a.blocking.ln.resume(p.conn)
}

// resumedConn is a connection handed back to the HTTP server: reads
// return pre (bytes of the next request already read) first. A connection
// parked again keeps its resumedConn, so wrappers never nest.
type resumedConn struct {
	net.Conn
	pre []byte // read only by the HTTP server once the conn is resumed
}

func (c *resumedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
