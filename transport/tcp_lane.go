package transport

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/agentd/agentd/raft"
)

// peer is the pair of outbound Raft lanes to one address. Each lane has its
// own connection, queue and writer goroutine, so a stalled bulk lane (a
// 64 MiB AppendEntries to a slow follower) never holds up a heartbeat.
type peer struct {
	prio, bulk *lane
}

// peer returns the lanes to addr, starting them on first use; nil once
// closing.
func (t *TCP) peer(addr string) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return nil
	}
	if p := t.peers[addr]; p != nil {
		return p
	}
	p := &peer{
		prio: &lane{t: t, addr: addr, kind: kindRaftPriority, q: make(chan queued, t.cfg.PriorityQueueLen)},
		bulk: &lane{t: t, addr: addr, kind: kindRaftAppend, q: make(chan queued, t.cfg.AppendQueueLen)},
	}
	t.peers[addr] = p
	t.wg.Add(2) // under mu, before Close can wait: see TCP.closed
	go p.prio.run()
	go p.bulk.run()
	return p
}

// queued is one message waiting on a lane.
type queued struct {
	to      raft.NodeID
	payload []byte
}

// maxBatchFrames bounds the frames written before an explicit flush, so a
// steady stream still reaches the peer promptly.
const maxBatchFrames = 128

// lane is one outbound connection kind to one peer: a bounded queue
// drained by one writer goroutine. Frames are pipelined: the writer never
// waits for an answer (answers come back on the peer's own lanes to us).
type lane struct {
	t    *TCP
	addr string
	kind byte
	q    chan queued // bounded; a full queue drops

	// Owned by the run goroutine.
	conn net.Conn      // nil when not connected
	bw   *bufio.Writer // buffers conn
	// gone is closed by the watcher when the peer closed the connection
	// (restart, idle timeout): the next message redials at once.
	gone     chan struct{}
	failures int       // consecutive dial or write failures
	retryAt  time.Time // no dial before this (clock time)
	ids      []raft.NodeID
}

// enqueue never blocks: the Raft loop calls it.
func (l *lane) enqueue(to raft.NodeID, payload []byte) {
	if len(payload) == 0 || len(payload) > raft.MaxMessageBytes {
		panic(fmt.Sprintf("transport: payload of %d bytes to %s; raft.EncodeMessage output is 1..%d", len(payload), to, raft.MaxMessageBytes))
	}
	select {
	case l.q <- queued{to, payload}:
	default:
		l.t.stats.droppedQueueFull.Add(1)
		l.t.reportUnreachable(to)
	}
}

func (l *lane) run() {
	defer l.t.wg.Done()
	defer l.closeConn()
	for {
		select {
		case <-l.t.closed:
			return
		case m := <-l.q:
			l.sendBatch(m)
		}
	}
}

// sendBatch writes first and whatever else is queued, then flushes. On
// failure the batch is lost (Raft retransmits) and its recipients are
// reported unreachable.
func (l *lane) sendBatch(first queued) {
	if !l.connected() {
		l.t.stats.droppedBackoff.Add(1)
		l.t.reportUnreachable(first.to)
		return
	}
	l.ids = append(l.ids[:0], first.to)
	n := 1
	err := l.write(first.payload)
	for err == nil && n < maxBatchFrames {
		var m queued
		more := true
		select {
		case m = <-l.q:
		default:
			more = false
		}
		if !more {
			break
		}
		n++
		if !slices.Contains(l.ids, m.to) {
			l.ids = append(l.ids, m.to)
		}
		err = l.write(m.payload)
	}
	if err == nil {
		_ = l.conn.SetWriteDeadline(time.Now().Add(l.t.cfg.WriteTimeout))
		err = l.bw.Flush()
	}
	if err != nil {
		l.t.log.Debug("transport: write", "addr", l.addr, "lane", string(l.kind), "err", err)
		l.t.stats.droppedWrite.Add(uint64(n))
		l.fail()
		for _, id := range l.ids {
			l.t.reportUnreachable(id)
		}
		return
	}
	l.t.stats.sent.Add(uint64(n))
	l.failures = 0
}

// write buffers one frame; a full buffer writes through under a fresh
// deadline, so a slow but moving peer is not cut off mid-batch.
func (l *lane) write(payload []byte) error {
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.t.cfg.WriteTimeout))
	var hdr [frameHeaderLen]byte
	appendFrameHeader(hdr[:0], len(payload))
	if _, err := l.bw.Write(hdr[:]); err != nil {
		return err
	}
	_, err := l.bw.Write(payload)
	return err
}

// connected makes sure there is a live connection, dialing unless the
// lane is backing off.
func (l *lane) connected() bool {
	if l.conn != nil {
		select {
		case <-l.gone:
			l.closeConn() // the peer went away; redial now
		default:
			return true
		}
	}
	if l.t.clk.Now().Before(l.retryAt) {
		return false
	}
	c, err := l.t.dial(l.t.ctx, l.addr, l.kind)
	if err != nil {
		l.t.log.Debug("transport: dial", "addr", l.addr, "err", err)
		l.fail()
		return false
	}
	l.conn, l.bw, l.gone = c, bufio.NewWriterSize(c, 64<<10), make(chan struct{})
	gone := l.gone
	l.t.wg.Add(1) // run's own count keeps the group above zero
	go func() {
		defer l.t.wg.Done()
		defer close(gone)
		// The receiver never writes on a Raft lane: Read returns only
		// when the connection ends (or the peer misbehaves).
		var b [1]byte
		_, _ = c.Read(b[:])
	}()
	return true
}

// fail drops the connection and backs off.
func (l *lane) fail() {
	l.closeConn()
	l.failures++
	l.retryAt = l.t.clk.Now().Add(l.t.cfg.backoff(l.failures))
}

func (l *lane) closeConn() {
	if l.conn != nil {
		l.t.untrack(l.conn)
		l.conn, l.bw = nil, nil
	}
}
