package agent

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Serving a parked connection's next request in place.
//
// A watcher sends its next blocking GET as soon as it has the answer. The
// parked connection's goroutine reads it itself (http.ReadRequest) and, for
// a KV GET, runs the API handler on an inlineWriter: the query parks again
// on the same goroutine, or its answer is written like a parked one. This
// saves what a return to the HTTP server costs per wake: a new connection
// goroutine, its background reader, its 4 KiB buffers and the hijack.
//
// Anything else — another method or path, a body, HTTP/1.0, "Connection:
// close", Expect or Upgrade, pipelined requests, a malformed or oversized
// request — goes back to the HTTP server with every byte read so far in
// front, so net/http parses it afresh and answers exactly as it would have
// (400, 431, 505...). Only I/O errors and timeouts close the connection
// here, as net/http does.

// Request-reading limits, as the HTTP server's (startHTTP).
const (
	inlineHeaderTimeout = 10 * time.Second // ReadHeaderTimeout
	inlineMaxHeader     = 1<<20 + 4096     // http.DefaultMaxHeaderBytes plus net/http's slack
	inlineReadBuf       = 1024             // longer lines are still read (textproto joins them)
)

// errHeaderTooLarge ends the recording of an oversized request.
var errHeaderTooLarge = errors.New("agent: request header too large")

// requestReader feeds http.ReadRequest from a parked connection (pre
// first) and records every byte, for the HTTP server if it gets the
// connection back.
type requestReader struct {
	c        *parkedConn
	deadline time.Time
	rec      []byte
	ioErr    error // a read error (not a parse error)
	br       *bufio.Reader
}

var requestReaders = sync.Pool{New: func() any {
	r := &requestReader{rec: make([]byte, 0, 512)}
	r.br = bufio.NewReaderSize(r, inlineReadBuf)
	return r
}}

func (r *requestReader) Read(b []byte) (int, error) {
	if len(r.rec) >= inlineMaxHeader {
		return 0, errHeaderTooLarge
	}
	var n int
	var err error
	if rc := r.c.rc; len(rc.pre) > 0 {
		n = copy(b, rc.pre)
		rc.pre = rc.pre[n:]
	} else {
		n, err = r.c.read(b, r.deadline)
		if err != nil {
			r.ioErr = err
		}
	}
	r.rec = append(r.rec, b[:n]...)
	return n, err
}

// serveNext serves the connection's next requests in place until one
// parks (returned, for loop to answer) or the connection leaves this
// goroutine (nil): handed back to the HTTP server, or closed.
func (a *Agent) serveNext(c *parkedConn) *parkedQuery {
	for {
		if len(c.rc.pre) == 0 {
			// Idle: wait for the next request, as long as net/http would.
			n, _ := c.read(c.scratch[:], time.Now().Add(time.Duration(a.blocking.idle.Load())))
			if n == 0 {
				c.rc.Close()
				return nil
			}
			c.rc.pre = append(c.rc.pre[:0], c.scratch[:n]...)
		}
		if t := c.tmpl; t != nil {
			if index, n, ok := t.match(c.rc.pre); ok {
				c.rc.pre = c.rc.pre[n:]
				p, ok := c.repeat(t, index)
				switch {
				case p != nil:
					return p
				case !ok || c.isStopped():
					c.rc.Close()
					return nil
				}
				continue
			}
		}
		rr := requestReaders.Get().(*requestReader)
		rr.c, rr.deadline, rr.rec, rr.ioErr = c, time.Now().Add(inlineHeaderTimeout), rr.rec[:0], nil
		rr.br.Reset(rr)
		req, err := http.ReadRequest(rr.br)
		ioErr, buffered := rr.ioErr, rr.br.Buffered()
		if err != nil || buffered > 0 || !inlineable(req) {
			if ioErr != nil {
				c.rc.Close() // timeout, reset, EOF, or the agent stopping
			} else {
				// Everything read, then what pre still holds.
				c.rc.pre = append(append([]byte(nil), rr.rec...), c.rc.pre...)
				a.blocking.ln.resume(c.rc)
			}
			rr.release()
			return nil
		}
		raw := append(c.lastRaw[:0], rr.rec...)
		rr.release()
		req.RemoteAddr = c.rc.RemoteAddr().String()
		w := &inlineWriter{}
		if !a.serveInline(w, req) {
			c.rc.Close()
			return nil
		}
		if w.parked != nil {
			// Its bytes recognise the client's next request (http_repeat.go).
			if t := newRepeatTemplate(raw, w.parked); t != nil {
				c.tmpl, c.lastRaw = t, nil
			} else {
				c.lastRaw = raw
			}
			return w.parked
		}
		c.lastRaw = raw
		if !c.writeResponse(&w.bufResponse) || c.isStopped() {
			c.rc.Close()
			return nil
		}
	}
}

func (r *requestReader) release() {
	r.c = nil
	if cap(r.rec) <= 64<<10 {
		requestReaders.Put(r)
	}
}

// inlineable reports whether req can be served in place: a plain
// HTTP/1.1 KV GET (the only handler that parks).
func inlineable(req *http.Request) bool {
	if req.Method != http.MethodGet || req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Close ||
		req.ContentLength != 0 || len(req.TransferEncoding) > 0 || !strings.HasPrefix(req.URL.Path, "/v1/kv/") {
		return false
	}
	if len(req.Header["Host"]) > 1 || !plainHost(req.Host) {
		return false
	}
	for _, h := range []string{"Expect", "Upgrade", "Content-Length", "Transfer-Encoding"} {
		if _, ok := req.Header[h]; ok {
			return false
		}
	}
	return true
}

// plainHost accepts a non-empty host[:port] of the characters hosts are
// made of; anything odder is left to net/http's own checks.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

// serveInline runs the API handler; false if it panicked past wrap (an
// http.ErrAbortHandler: net/http would drop the connection too).
func (a *Agent) serveInline(w *inlineWriter, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				a.log.Error("HTTP handler panic", "method", req.Method, "path", req.URL.Path, "panic", v)
			}
			ok = false
		}
	}()
	a.httpSrv.Handler.ServeHTTP(w, req)
	return true
}

// inlineWriter is the ResponseWriter of a request served in place: the
// answer is buffered (bufResponse), or the query parks (park sets parked
// instead of hijacking: the connection is already this goroutine's).
type inlineWriter struct {
	bufResponse
	parked *parkedQuery
}

// Hijack is never called: park recognises an inlineWriter. It exists so
// that parkable accepts one.
func (w *inlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, http.ErrNotSupported
}
