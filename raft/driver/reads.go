package driver

import (
	"github.com/agentd/agentd/raft"
)

// readTracker holds ReadIndex requests: first waiting for the core's
// ReadState (read index unknown), then for applied to reach it.
type readTracker struct {
	next uint64
	// byCtx: requests by context, in ReadIndex order.
	byCtx map[string]*pendingRead
	order []*pendingRead
}

type pendingRead struct {
	ctx      string
	future   *Future
	deadline uint64 // tick count after which it fails
	index    raft.Index
	answered bool
	done     bool
}

func (r *readTracker) nextID() uint64 {
	r.next++
	return r.next
}

func (r *readTracker) add(ctx []byte, f *Future, deadline uint64) {
	if r.byCtx == nil {
		r.byCtx = make(map[string]*pendingRead)
	}
	p := &pendingRead{ctx: string(ctx), future: f, deadline: deadline}
	r.byCtx[p.ctx] = p
	r.order = append(r.order, p)
}

// answered records the core's read indexes and serves those already applied.
func (r *readTracker) answered(states []raft.ReadState, applied raft.Index) {
	for _, rs := range states {
		p := r.byCtx[string(rs.Context)]
		if p == nil || p.done {
			continue // a read we gave up on, or a duplicate answer
		}
		p.index, p.answered = rs.Index, true
		p.future.Index = rs.Index
	}
	r.serve(applied)
}

// serve resolves answered reads whose index is applied.
func (r *readTracker) serve(applied raft.Index) {
	r.finish(func(p *pendingRead) (Outcome, error, bool) {
		return Committed, nil, p.answered && p.index <= applied
	})
}

// expire fails reads whose deadline passed.
func (r *readTracker) expire(now uint64) {
	r.finish(func(p *pendingRead) (Outcome, error, bool) {
		return Failed, ErrReadTimeout, now > p.deadline
	})
}

func (r *readTracker) failAll(o Outcome, err error) {
	r.finish(func(*pendingRead) (Outcome, error, bool) { return o, err, true })
}

// finish resolves (in request order) every read for which decide says so.
// The tracker is updated before any future resolves, because a future's
// callback may start a new read.
func (r *readTracker) finish(decide func(*pendingRead) (Outcome, error, bool)) {
	type resolution struct {
		p   *pendingRead
		o   Outcome
		err error
	}
	var done []resolution
	kept := make([]*pendingRead, 0, len(r.order))
	for _, p := range r.order {
		if o, err, ok := decide(p); ok {
			p.done = true
			delete(r.byCtx, p.ctx)
			done = append(done, resolution{p, o, err})
			continue
		}
		kept = append(kept, p)
	}
	r.order = kept
	for _, d := range done {
		d.p.future.resolve(d.o, nil, d.err)
	}
}
