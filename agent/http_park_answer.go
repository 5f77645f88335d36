package agent

import (
	"net"
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/agentd/agentd/store"
)

// Answering parked queries.
//
// One write to a key wakes every query parked on it: 10,000 watchers of
// one key are 10,000 answers due at once. Waking 10,000 goroutines to
// each cut its Read, re-read, render and write costs a goroutine switch,
// two read-deadline updates and a re-read each. Instead the store's
// callback (wake, on the FSM apply path: it never blocks, only queues)
// hands the connection to a small pool of answerers, about GOMAXPROCS
// goroutines started on demand, which re-read, render and write the
// answers one connection after another. The connection's own goroutine
// stays in its Read all along and simply receives the client's next
// request once the answer is out.
//
// A write never blocks an answerer: it is one non-blocking attempt (the
// socket's buffer is empty for a client that waits for its answer); what
// does not fit is finished by a goroutine of its own with a deadline. A
// query whose re-read needs a Raft round (?consistent, or a leader not
// yet ready) is answered by a goroutine of its own too, so a slow barrier
// never holds up the others.

// answerChunk is how many queued connections an answerer takes at a time.
const answerChunk = 32

// answerQueue is the connections whose answers are due.
type answerQueue struct {
	mu      sync.Mutex
	due     []*parkedConn // guarded by mu; FIFO
	running int           // answerers running; guarded by mu
	idle    *sync.Cond    // on mu: broadcast when the last answerer stops
}

func newAnswerQueue() *answerQueue {
	q := &answerQueue{}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// awaitIdle holds a connection's goroutine, which has its client's next
// request, until the answers due are written: in a burst (one write
// waking 10,000 watchers) the answers come first and the next requests,
// which only park again, after, instead of sharing the CPU half and half.
// It cannot starve: a connection held here parks nothing new, so the
// queue drains. (10,000 watchers of one key, 4 alternating pairs of 10
// rounds, load 6.9-7.5: wake p99 264-383 ms with, 341-473 ms without;
// agent CPU per wake ~10 % higher.)
func (q *answerQueue) awaitIdle() {
	q.mu.Lock()
	for len(q.due) > 0 || q.running > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

// push queues c; never blocks (the store's writing goroutine calls it
// through wake).
func (q *answerQueue) push(c *parkedConn) {
	q.mu.Lock()
	q.due = append(q.due, c)
	start := q.running < runtime.GOMAXPROCS(0) && q.running*answerChunk < len(q.due)
	if start {
		q.running++
	}
	q.mu.Unlock()
	if start {
		go q.answerer()
	}
}

// answerer answers queued connections until the queue is empty.
func (q *answerQueue) answerer() {
	var batch []*parkedConn
	var wc wireCache
	for {
		q.mu.Lock()
		if len(q.due) == 0 {
			if q.running--; q.running == 0 {
				q.idle.Broadcast()
			}
			q.due = q.due[:0]
			q.mu.Unlock()
			return
		}
		n := min(answerChunk, len(q.due))
		batch = append(batch[:0], q.due[:n]...)
		clear(q.due[:n])
		q.due = q.due[n:]
		q.mu.Unlock()
		for _, c := range batch {
			c.a.answerParked(c, &wc)
		}
		clear(batch)
	}
}

// barrierFree reports whether a read in mode c needs no Raft round here.
func (a *Agent) barrierFree(c Consistency) bool {
	switch c {
	case ConsistencyStale:
		return true
	case ConsistencyLeader:
		_, ready, _ := a.srv.state()
		return ready
	}
	return false
}

// answerParked answers c's query, claimed (state answering) for the
// reason in c.why: re-read after a wake, and write the answer — or park
// the query again if nothing it read moved. wc is the calling answerer's
// cache (nil: not an answerer); an answerer hands a query needing a Raft
// round to a goroutine of its own.
func (a *Agent) answerParked(c *parkedConn, wc *wireCache) {
	c.mu.Lock()
	p, why := c.p, c.why
	c.mu.Unlock()
	var b *bufResponse
	switch why {
	case waitFired:
		p.ws.Close()
		if p.ws.Abandoned() {
			meta, err := a.readFresh(a.blocking.stopCtx, p.q.o, p.q.read)
			if err != nil {
				b = a.renderParked(p, func(http.ResponseWriter) error { return err })
				break
			}
			p.meta = meta
			b = a.renderParked(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
			break
		}
		if wc != nil && !a.barrierFree(p.q.o.consistency) {
			go a.answerParked(c, nil)
			return
		}
		meta, ws, err := a.reread(p.q)
		if err != nil {
			b = a.renderParked(p, func(http.ResponseWriter) error { return err })
			break
		}
		p.meta = meta
		if ws != nil && c.repark(p, ws) {
			return
		}
		fallthrough
	default: // expired, stopped, or the index moved
		p.ws.Close()
		now := time.Now()
		if kv := p.q.kv; wc != nil && kv != nil {
			// Watchers of one key woken by one write get the same bytes.
			out := wc.get(kv, p.meta, now.Unix())
			if out == nil {
				b = a.renderParked(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
				out = b.appendWire(nil, now)
				wc.put(kv, p.meta, now.Unix(), out)
			}
			c.write(out, false)
			return
		}
		b = a.renderParked(p, func(w http.ResponseWriter) error { return p.q.render(w, p.meta) })
	}
	buf := wireBufs.Get().(*[]byte)
	out := b.appendWire((*buf)[:0], time.Now())
	c.write(out, true)
	recycleWire(buf, out)
}

// write writes out on the answering connection without blocking, then
// ends the answering state. What does not fit the socket's buffer (a
// large answer, or a client that pipelines and does not read) is
// finished by a goroutine of its own with a deadline. copyRest: out is
// reused once write returns.
func (c *parkedConn) write(out []byte, copyRest bool) {
	n, err := c.nb.write(c.rc.Conn, out)
	if err == nil && n < len(out) {
		rest := out[n:]
		if copyRest {
			rest = append([]byte(nil), rest...)
		}
		go func() {
			c.rc.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
			_, err := c.rc.Conn.Write(rest)
			c.rc.SetWriteDeadline(time.Time{})
			c.answered(err == nil)
		}()
		return
	}
	c.answered(err == nil)
}

// repark leaves c's query p waiting on ws after a re-read found nothing
// new (p.meta already updated). False: the agent is stopping or the
// client left, and ws was closed: answer now (the caller closes p.ws).
func (c *parkedConn) repark(p *parkedQuery, ws *store.WatchSet) bool {
	c.mu.Lock()
	if c.stopped || c.gone {
		c.mu.Unlock()
		ws.Close()
		return false
	}
	p.ws, c.pending = ws, false
	c.mu.Unlock()
	// Notify before the query is published as parked, as await does.
	if !ws.Notify(c.wake) {
		panic("agent: a parked query's watch set has channels Notify cannot watch")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
		c.why = waitStopped
		c.a.blocking.answers.push(c) // still answering: answered again
	case c.pending:
		c.why = waitFired
		c.a.blocking.answers.push(c)
	case c.gone:
		c.state = connGone
		ws.Close()
		c.left.Broadcast()
	default:
		c.state = connParked
		c.a.blocking.timers.set(c, p.deadline)
	}
	return true
}

// answered ends the answering state once the answer is written (ok) or
// could not be: the connection's goroutine then reads the next request,
// or is cut to close the connection or to take the request already in pre.
func (c *parkedConn) answered(ok bool) {
	c.mu.Lock()
	c.state = connAnswered
	c.idleAt = time.Now().Add(time.Duration(c.a.blocking.idle.Load()))
	// Usually a no-op: the entry is already due earlier (the last idle
	// limit or wait), and expire moves it on when it comes due.
	c.a.blocking.timers.set(c, c.idleAt)
	switch {
	case !ok:
		c.cut = cutClose
	case c.stopped:
		c.cut = cutStop
	case c.early:
		c.cut = cutNext
	}
	if c.cut != cutNone {
		c.cutLocked()
	}
	if c.gone {
		c.left.Broadcast()
	}
	c.mu.Unlock()
}

func recycleWire(buf *[]byte, out []byte) {
	if cap(out) <= 64<<10 {
		*buf = out
		wireBufs.Put(buf)
	}
}

// nbWriter writes to a connection's socket with one non-blocking attempt.
// Its callback is bound once, and the RawConn kept: raw.Write with a
// fresh closure, and SyscallConn, would each allocate per answer. Used
// only by whoever answers the connection (state answering).
type nbWriter struct {
	raw syscall.RawConn       // nil: no descriptor, written normally
	fn  func(fd uintptr) bool // w.attempt, bound once
	b   []byte                // the attempt's bytes, result and error
	n   int
	err error
}

func (w *nbWriter) attempt(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.b)
		if w.err != syscall.EINTR {
			return true // never wait for writability: that is the caller's choice
		}
	}
}

// write writes b to c once without blocking and reports how much went:
// less than len(b) when the socket's buffer is full.
func (w *nbWriter) write(c net.Conn, b []byte) (int, error) {
	if w.fn == nil {
		w.fn = w.attempt
		if lc, ok := c.(*limitedConn); ok {
			c = lc.Conn
		}
		if sc, ok := c.(syscall.Conn); ok {
			w.raw, _ = sc.SyscallConn()
		}
	}
	if w.raw == nil {
		return c.Write(b)
	}
	w.b = b
	err := w.raw.Write(w.fn)
	n, werr := w.n, w.err
	w.b = nil
	if werr == syscall.EAGAIN {
		return 0, nil
	}
	if n < 0 {
		n = 0
	}
	if err == nil {
		err = werr
	}
	return n, err
}
