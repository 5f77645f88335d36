package driver

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/agentd/agentd/raft"
)

// Errors a Future resolves with.
var (
	// ErrProposalFailed: the entry was overwritten by another leader's; it
	// was definitely not applied.
	ErrProposalFailed = errors.New("driver: proposal failed: overwritten by another term")
	// ErrLeadershipLost: leadership was lost before the entry was applied
	// here; it may or may not commit.
	ErrLeadershipLost = errors.New("driver: leadership lost; outcome unknown")
	// ErrStopped: the handler stopped (Stop, or a fatal storage error)
	// before the outcome was known.
	ErrStopped = errors.New("driver: stopped; outcome unknown")
	// ErrReadTimeout: a ReadIndex request was not served in time.
	ErrReadTimeout = errors.New("driver: read index timed out")
)

// Outcome classifies a resolved Future.
type Outcome uint8

const (
	Pending   Outcome = iota
	Committed         // applied with the proposal's term; Result holds the FSM's answer
	Failed            // definitely not applied (rejected, or overwritten)
	Unknown           // may or may not have been applied
)

func (o Outcome) String() string {
	switch o {
	case Pending:
		return "Pending"
	case Committed:
		return "Committed"
	case Failed:
		return "Failed"
	case Unknown:
		return "Unknown"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Future is the eventual outcome of a proposal or a read. It is resolved
// exactly once, on the handler goroutine — except a Driver proposal's
// (early), which the apply worker may resolve Committed first (see
// submitApply); Done may be waited on from any goroutine, the accessors are
// valid once Done is closed.
type Future struct {
	// Index and Term are where a proposal was appended (0 for a read, or a
	// proposal rejected up front). Index is the read index for a read.
	Index raft.Index
	Term  raft.Term

	done chan struct{}
	// early marks a future nobody registers a callback on (Driver.Propose):
	// the apply worker may resolve it, so that the proposer wakes without
	// a hop through the handler goroutine. Set before the handler sees f.
	early bool
	// claimed is set by the one resolve that wins; only early futures
	// ever see a second, losing attempt.
	claimed  atomic.Bool
	outcome  Outcome
	result   any
	err      error
	callback func(*Future)
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

// Done is closed when the future is resolved.
func (f *Future) Done() <-chan struct{} { return f.done }

// Outcome is Pending until resolved.
func (f *Future) Outcome() Outcome { return f.outcome }

// Result is the FSM's Apply result of a committed proposal.
func (f *Future) Result() any { return f.result }

// Err is nil when committed (or a read is served), else why not.
func (f *Future) Err() error { return f.err }

// OnResolve registers cb, called on the handler goroutine when f resolves
// (at once if it already has). The simulator uses it instead of Done to
// stay single-threaded. Only one callback is kept.
func (f *Future) OnResolve(cb func(*Future)) {
	if f.outcome != Pending {
		cb(f)
		return
	}
	f.callback = cb
}

func (f *Future) resolve(o Outcome, result any, err error) {
	if !f.tryResolve(o, result, err) {
		panic(fmt.Sprintf("driver: future at index %d resolved twice (%v, then %v)", f.Index, f.outcome, o))
	}
}

// settle resolves f unless it is early and the apply worker already did
// (then the worker's Committed stands: the entry was applied).
func (f *Future) settle(o Outcome, result any, err error) {
	if f.early {
		f.tryResolve(o, result, err)
		return
	}
	f.resolve(o, result, err)
}

// tryResolve resolves f unless another resolve won; it reports whether
// this one did. Safe from any goroutine for an early future.
func (f *Future) tryResolve(o Outcome, result any, err error) bool {
	if !f.claimed.CompareAndSwap(false, true) {
		return false
	}
	f.outcome, f.result, f.err = o, result, err
	close(f.done)
	if f.callback != nil {
		f.callback(f)
	}
	return true
}
