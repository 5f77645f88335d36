package driver

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
)

// Driver runs a Handler on its own goroutine, on real time and real
// goroutine-backed workers. Every method is safe for concurrent use.
type Driver struct {
	h   *Handler
	clk clock.Clock

	// msgc carries received payloads; full means the node is overloaded
	// and the message is dropped, like a lossy network would.
	msgc chan []byte
	// compc carries worker and transport completions; the loop takes them
	// before any other input, so that the disk never waits behind a queue
	// of proposals for its next job.
	compc chan func()
	callc chan func() // closures to run on the loop (inputs)
	tickc chan struct{}
	stopc chan struct{}
	donec chan struct{}

	// props queues proposals for the loop, which takes them all at once
	// (one wake-up and one Ready for however many arrived meanwhile).
	// propc holds a token while props is non-empty and the loop has not
	// been told; propsClosed is set once the loop exited.
	propMu      sync.Mutex
	props       []proposeReq // guarded by propMu
	propsSpare  []proposeReq // loop-owned: the drained buffer, reused
	propsClosed bool         // guarded by propMu
	propc       chan struct{}

	workers  []*GoWorker
	stopOnce sync.Once

	leaderMu sync.Mutex
	leader   raft.SoftState // guarded by leaderMu
	leaderc  chan raft.SoftState
}

// DriverDeps are a Driver's collaborators; the workers are created by the
// Driver.
type DriverDeps struct {
	Log       LogStore
	Snapshots SnapshotStore
	FSM       FSM
	Transport Transport
	Clock     clock.Clock
}

// Start restores a Handler from deps (see New) and runs it.
func Start(cfg Config, deps DriverDeps) (*Driver, error) {
	if cfg.Raft.TickInterval <= 0 {
		return nil, fmt.Errorf("driver: config: Raft.TickInterval must be > 0")
	}
	d := &Driver{
		clk:     deps.Clock,
		msgc:    make(chan []byte, 4096),
		compc:   make(chan func(), 1024),
		callc:   make(chan func(), 1024),
		propc:   make(chan struct{}, 1),
		tickc:   make(chan struct{}, 1),
		stopc:   make(chan struct{}),
		donec:   make(chan struct{}),
		leaderc: make(chan raft.SoftState, 1),
	}
	if d.clk == nil {
		d.clk = clock.Real{}
	}
	userSoft := cfg.OnSoftState
	cfg.OnSoftState = func(s raft.SoftState) {
		d.publishLeader(s)
		if userSoft != nil {
			userSoft(s)
		}
	}
	if cfg.ReadContextBase == 0 {
		var b [8]byte
		_, _ = cryptorand.Read(b[:])                             // never fails (crypto/rand: panics rather than return an error)
		cfg.ReadContextBase = binary.BigEndian.Uint64(b[:]) >> 1 // room to count up
	}
	disk, apply, snap := NewGoWorker(d.post), NewGoWorker(d.post), NewGoWorker(d.post)
	d.workers = []*GoWorker{disk, apply, snap}
	h, err := New(cfg, Deps{
		Log: deps.Log, Snapshots: deps.Snapshots, FSM: deps.FSM,
		Transport: loopTransport{Transport: deps.Transport, post: d.post},
		Disk:      disk, Apply: apply, Snap: snap,
	})
	if err != nil {
		for _, w := range d.workers {
			w.Close()
		}
		return nil, err
	}
	d.h = h
	d.armTick()
	go d.run()
	return d, nil
}

// post runs a completion f on the loop; it gives up once the driver
// stopped.
func (d *Driver) post(f func()) {
	select {
	case d.compc <- f:
	case <-d.stopc:
	}
}

func (d *Driver) armTick() {
	d.clk.AfterFunc(d.h.cfg.Raft.TickInterval, func() {
		select {
		case d.tickc <- struct{}{}:
		default: // a tick is already pending; ticks do not queue up
		}
	})
}

// maxBatch bounds the inputs taken before the Readys are handled.
const maxBatch = 256

func (d *Driver) run() {
	defer close(d.donec)
	for {
		select {
		case <-d.stopc:
			d.h.Stop()
			d.closeProposals()
			return
		case <-d.tickc:
			d.h.Tick()
			d.armTick()
		case f := <-d.compc:
			d.h.Batch(func() {
				f()
				d.drain()
			})
		case p := <-d.msgc:
			d.h.Batch(func() {
				d.h.Receive(p)
				d.drain()
			})
		case f := <-d.callc:
			d.h.Batch(func() {
				f()
				d.drain()
			})
		case <-d.propc:
			// Proposers woken together (their futures resolved by one
			// apply) enqueue one after another. Yielding once lets those
			// already runnable enqueue before the Ready is cut, so they
			// share one MsgApp per follower and one fsync instead of the
			// first one taking the idle disk alone. It is not a timed
			// wait: with nothing else runnable it returns at once.
			runtime.Gosched()
			d.h.Batch(d.drain)
		}
	}
}

// drain takes the inputs already waiting, so that they share Readys: many
// proposals become one MsgApp and one fsync. Completions go first, then
// every queued proposal, then messages and calls.
func (d *Driver) drain() {
	for range maxBatch {
		select {
		case f := <-d.compc:
			f()
			continue
		default:
		}
		d.takeProposals()
		select {
		case f := <-d.compc:
			f()
		case p := <-d.msgc:
			d.h.Receive(p)
		case f := <-d.callc:
			f()
		default:
			return
		}
	}
	d.takeProposals()
}

// proposeReq is a proposal waiting in Driver.props.
type proposeReq struct {
	data []byte
	f    *Future
}

// takeProposals proposes everything queued, in arrival order.
func (d *Driver) takeProposals() {
	d.propMu.Lock()
	reqs := d.props
	d.props = d.propsSpare[:0]
	d.propMu.Unlock()
	for i := range reqs {
		d.h.proposeInto(reqs[i].f, reqs[i].data)
		reqs[i] = proposeReq{}
	}
	d.propsSpare = reqs[:0]
}

// closeProposals fails what is still queued once the loop stops: none of
// it was proposed.
func (d *Driver) closeProposals() {
	d.propMu.Lock()
	reqs := d.props
	d.props = nil
	d.propsClosed = true
	d.propMu.Unlock()
	for _, r := range reqs {
		r.f.resolve(Unknown, nil, ErrStopped)
	}
}

// Stop stops the loop and the workers. Pending futures resolve Unknown.
// The caller closes the LogStore afterwards.
func (d *Driver) Stop() {
	d.stopOnce.Do(func() {
		close(d.stopc)
		<-d.donec
		for _, w := range d.workers {
			w.Close()
		}
	})
}

// Done is closed once the loop exited (Stop, or after a fatal error when
// OnFatal does not exit the process).
func (d *Driver) Done() <-chan struct{} { return d.donec }

// Deliver hands a received payload to the loop; it never blocks. The
// driver owns payload afterwards (see Handler.Receive).
func (d *Driver) Deliver(payload []byte) {
	select {
	case d.msgc <- payload:
	default:
	}
}

// DeliverSnapshot hands a received, staged snapshot to the loop.
func (d *Driver) DeliverSnapshot(m raft.Message, staged Staged) {
	select {
	case d.callc <- func() { d.h.ReceiveSnapshot(m, staged) }:
	case <-d.stopc:
		_ = staged.Remove()
	}
}

// ReportUnreachable tells the core a peer could not be reached; it never
// blocks (the report is advisory).
func (d *Driver) ReportUnreachable(id raft.NodeID) {
	select {
	case d.callc <- func() { d.h.ReportUnreachable(id) }:
	default:
	}
}

// call runs f on the loop and waits for it.
func (d *Driver) call(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case d.callc <- func() { f(); close(ran) }:
	case <-d.stopc:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ran:
		return nil
	case <-d.donec:
		return ErrStopped
	}
}

// wait waits for a future started by start on the loop.
func (d *Driver) wait(ctx context.Context, start func() *Future) (*Future, error) {
	var f *Future
	if err := d.call(ctx, func() { f = start() }); err != nil {
		return nil, err
	}
	select {
	case <-f.Done():
		return f, f.Err()
	case <-ctx.Done():
		return f, ctx.Err()
	}
}

// Propose replicates data and returns the FSM's result and the entry's
// index once applied here. On error the entry may still commit unless the
// error is a raft rejection (raft.ErrNotLeader, ...) or ErrProposalFailed;
// the index is 0 when ctx ended first.
//
// The proposal is queued for the loop without a round trip: the caller
// sleeps once, until the future resolves.
func (d *Driver) Propose(ctx context.Context, data []byte) (any, raft.Index, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f := newFuture()
	f.early = true // only Done is waited on: the apply worker may resolve it
	d.propMu.Lock()
	if d.propsClosed {
		d.propMu.Unlock()
		return nil, 0, ErrStopped
	}
	d.props = append(d.props, proposeReq{data: data, f: f})
	first := len(d.props) == 1
	d.propMu.Unlock()
	if first {
		select {
		case d.propc <- struct{}{}:
		default: // the loop was told already
		}
	}
	select {
	case <-f.Done():
		return f.Result(), f.Index, f.Err()
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// ReadIndex returns once a linearizable read may be served from the local
// FSM: the node applied the read index the leader confirmed.
func (d *Driver) ReadIndex(ctx context.Context) (raft.Index, error) {
	f, err := d.wait(ctx, d.h.ReadIndex)
	if f == nil {
		return 0, err
	}
	return f.Index, err
}

// Barrier waits until every entry committed before the call is applied
// locally (a ReadIndex round).
func (d *Driver) Barrier(ctx context.Context) error {
	_, err := d.ReadIndex(ctx)
	return err
}

// AddNonvoter adds a non-voting server; the leader promotes it once caught
// up when Raft.AutoPromote is set.
func (d *Driver) AddNonvoter(ctx context.Context, id raft.NodeID, addr string) error {
	cc := raft.ConfChange{Type: raft.ConfAddNonvoter, Server: raft.Server{ID: id, Address: addr, Suffrage: raft.Nonvoter}}
	_, err := d.wait(ctx, func() *Future { return d.h.ProposeConfChange(cc) })
	return err
}

// RemoveServer removes a server from the configuration.
func (d *Driver) RemoveServer(ctx context.Context, id raft.NodeID) error {
	cc := raft.ConfChange{Type: raft.ConfRemove, Server: raft.Server{ID: id}}
	_, err := d.wait(ctx, func() *Future { return d.h.ProposeConfChange(cc) })
	return err
}

// TransferLeadership asks the leader to hand over to id.
func (d *Driver) TransferLeadership(ctx context.Context, id raft.NodeID) error {
	var err error
	if cerr := d.call(ctx, func() { err = d.h.TransferLeadership(id) }); cerr != nil {
		return cerr
	}
	return err
}

// Campaign starts an election now.
func (d *Driver) Campaign(ctx context.Context) error {
	var err error
	if cerr := d.call(ctx, func() { err = d.h.Campaign() }); cerr != nil {
		return cerr
	}
	return err
}

// Status returns the node's status.
func (d *Driver) Status(ctx context.Context) (raft.Status, error) {
	var s raft.Status
	err := d.call(ctx, func() { s = d.h.Status() })
	return s, err
}

// Stats returns the handler's counters.
func (d *Driver) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := d.call(ctx, func() { s = d.h.Stats() })
	return s, err
}

// Leader returns the latest leadership observation without blocking.
func (d *Driver) Leader() raft.SoftState {
	d.leaderMu.Lock()
	defer d.leaderMu.Unlock()
	return d.leader
}

// LeaderCh delivers leadership changes; only the newest unread one is kept.
func (d *Driver) LeaderCh() <-chan raft.SoftState { return d.leaderc }

func (d *Driver) publishLeader(s raft.SoftState) {
	d.leaderMu.Lock()
	d.leader = s
	d.leaderMu.Unlock()
	select {
	case <-d.leaderc:
	default:
	}
	d.leaderc <- s
}

// loopTransport returns SendSnapshot's done to the loop.
type loopTransport struct {
	Transport
	post func(func())
}

func (t loopTransport) SendSnapshot(to raft.NodeID, addr string, msg raft.Message, open func() (io.ReadCloser, error), done func(ok bool)) {
	t.Transport.SendSnapshot(to, addr, msg, open, func(ok bool) { t.post(func() { done(ok) }) })
}
