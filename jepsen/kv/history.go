package kv

import (
	"math"
	"time"

	"github.com/anishathalye/porcupine"
)

// History records client operations for the linearizability check.
// Timestamps are virtual nanoseconds; an operation still open at the end
// is recorded as Unknown with an infinite Return.
type History struct {
	ops  []porcupine.Operation
	open map[int]int // op id -> index in ops of an operation not yet returned
	next int

	// Counters for the summary.
	Acked, Failed, Unknown int
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{open: map[int]int{}} }

// Invoke records a call and returns its id.
func (h *History) Invoke(client int, in Input, at time.Duration) int {
	id := h.next
	h.next++
	h.open[id] = len(h.ops)
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(at), Return: math.MaxInt64, Output: Output{Unknown: true}})
	return id
}

// Return records a definite outcome.
func (h *History) Return(id int, res Result, at time.Duration) {
	i := h.mustOpen(id)
	h.ops[i].Output = Output{Result: res}
	h.ops[i].Return = int64(at)
	h.Acked++
}

// Fail records that the operation definitely did not take effect (e.g.
// the proposal was rejected before reaching any log); it is removed.
func (h *History) Fail(id int) {
	i := h.mustOpen(id)
	h.ops[i].Input = nil
	h.Failed++
}

// Abandon records that the outcome is unknown: the operation may or may
// not take effect, at any time after its call.
func (h *History) Abandon(id int) {
	h.mustOpen(id)
	delete(h.open, id)
	h.Unknown++
}

func (h *History) mustOpen(id int) int {
	i, ok := h.open[id]
	if !ok {
		panic("kv: history: operation not open")
	}
	delete(h.open, id)
	return i
}

// Operations returns the history for porcupine: definite operations,
// plus unknown ones (reads with unknown outcome dropped).
func (h *History) Operations() []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(h.ops))
	for _, op := range h.ops {
		if op.Input == nil {
			continue
		}
		o := op.Output.(Output)
		if o.Unknown && op.Input.(Input).Op == OpGet {
			continue
		}
		out = append(out, op)
	}
	return out
}

// Len is the number of operations recorded.
func (h *History) Len() int { return len(h.ops) }
