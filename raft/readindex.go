package raft

import (
	"encoding/binary"
	"errors"
)

// ErrReadIndexBusy is returned by ReadIndex when too many reads are waiting
// for a leadership confirmation round.
var ErrReadIndexBusy = errors.New("raft: too many pending read index requests")

// maxPendingReads bounds reads waiting at the leader (local and forwarded).
const maxPendingReads = 8192

// readIndexState implements ReadIndex (thesis §6.4). A read waits for one
// heartbeat round that starts after it arrived: a quorum acknowledging the
// round proves we were still leader when the read arrived, so the commit
// index recorded then covers every write that could have completed before.
//
// Rounds are numbered; a round's id travels in MsgHeartbeat.Context and is
// echoed back. An acknowledgement of round r also acknowledges every earlier
// round (it was sent later), so each peer only needs its highest ack
// (progress.readAck).
//
// Reads that arrive before the leader has committed an entry of its own term
// fail with ErrNotReady (local) or a rejected MsgReadIndexResp (forwarded):
// until then its commit index may be stale (§6.4 step 1).
type readIndexState struct {
	// nextRound is the id the next round will get; ids start at 1.
	nextRound uint64
	// inflight is the id of the round in flight, 0 if none.
	inflight uint64
	// waiting are requests that arrived during the round in flight; they
	// join the next one.
	waiting []readRequest
	// current are requests covered by the round in flight.
	current []readRequest
}

type readRequest struct {
	index Index  // commit index when the request arrived
	from  NodeID // None for a local request
	ctx   []byte
}

func (r *readIndexState) reset() {
	*r = readIndexState{nextRound: r.nextRound}
}

func (r *readIndexState) inflightContext() []byte {
	if r.inflight == 0 {
		return nil
	}
	return roundContext(r.inflight)
}

func roundContext(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func parseRoundContext(ctx []byte) (uint64, bool) {
	if len(ctx) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(ctx), true
}

// ReadIndex asks for a linearizable read point. The answer arrives as a
// ReadState carrying ctx; a forwarded request that the leader refuses is
// dropped, so the driver should time reads out.
func (n *Node) ReadIndex(ctx []byte) error {
	if n.role != Leader {
		if n.lead == None {
			return ErrNotLeader
		}
		n.send(Message{To: n.lead, Type: MsgReadIndex, Context: ctx})
		return nil
	}
	if !n.committedOwnTerm() {
		return ErrNotReady
	}
	return n.queueRead(readRequest{index: n.log.committed, ctx: ctx})
}

// committedOwnTerm reports whether the leader committed an entry of its
// term (its commit index is then up to date, §5.4.2 / §6.4).
func (n *Node) committedOwnTerm() bool {
	t, err := n.log.term(n.log.committed)
	return err == nil && t == n.term
}

func (n *Node) handleReadIndexRequest(m *Message) {
	if !n.committedOwnTerm() || n.queueRead(readRequest{index: n.log.committed, from: m.From, ctx: m.Context}) != nil {
		n.send(Message{To: m.From, Type: MsgReadIndexResp, Reject: true, Context: m.Context})
	}
}

func (n *Node) queueRead(req readRequest) error {
	if len(n.conf.voters) == 1 && n.conf.isVoter(n.id) {
		n.answerRead(req) // a single voter is its own quorum
		return nil
	}
	if len(n.read.waiting)+len(n.read.current) >= maxPendingReads {
		return ErrReadIndexBusy
	}
	n.read.waiting = append(n.read.waiting, req)
	if n.read.inflight == 0 {
		n.startReadRound()
	}
	return nil
}

// startReadRound batches every waiting request into a new round.
func (n *Node) startReadRound() {
	n.read.nextRound++
	id := n.read.nextRound
	n.read.inflight = id
	n.read.current, n.read.waiting = n.read.waiting, n.read.current[:0]
	if self := n.prs[n.id]; self != nil {
		self.readAck = id
	}
	n.bcastHeartbeat(roundContext(id))
	n.releaseReads() // e.g. quorum of one after a configuration change
}

func (n *Node) handleReadAck(m *Message) {
	id, ok := parseRoundContext(m.Context)
	if !ok {
		return
	}
	if pr := n.prs[m.From]; pr != nil && id > pr.readAck && id <= n.read.nextRound {
		pr.readAck = id
		n.releaseReads()
	}
}

// releaseReads answers the round in flight once a quorum acknowledged it and
// starts the next one if requests are waiting.
func (n *Node) releaseReads() {
	if n.read.inflight == 0 || !n.readAcked(n.read.inflight) {
		return
	}
	for _, req := range n.read.current {
		n.answerRead(req)
	}
	clear(n.read.current)
	n.read.current = n.read.current[:0]
	n.read.inflight = 0
	if len(n.read.waiting) > 0 {
		n.startReadRound()
	}
}

func (n *Node) answerRead(req readRequest) {
	if req.from == None {
		n.readStates = append(n.readStates, ReadState{Index: req.index, Context: req.ctx})
		return
	}
	n.send(Message{To: req.from, Type: MsgReadIndexResp, Index: req.index, Context: req.ctx})
}
