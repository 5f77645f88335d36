package driver

import (
	"errors"
	"fmt"

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
// exactly once, on the handler goroutine; Done may be waited on from any
// goroutine, the accessors are valid once Done is closed.
type Future struct {
	// Index and Term are where a proposal was appended (0 for a read, or a
	// proposal rejected up front). Index is the read index for a read.
	Index raft.Index
	Term  raft.Term

	done     chan struct{}
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
	if f.outcome != Pending {
		panic(fmt.Sprintf("driver: future at index %d resolved twice (%v, then %v)", f.Index, f.outcome, o))
	}
	f.outcome, f.result, f.err = o, result, err
	close(f.done)
	if f.callback != nil {
		f.callback(f)
	}
}
