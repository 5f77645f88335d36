package store

import (
	"io"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// FSM adapts a Store to raft/driver.FSM. Apply's result (any) is a
// *Result.
type FSM struct{ s *Store }

var _ driver.FSM = (*FSM)(nil)

// NewFSM returns the FSM applying to s.
func NewFSM(s *Store) *FSM { return &FSM{s: s} }

// Store returns the store the FSM applies to.
func (f *FSM) Store() *Store { return f.s }

// Apply applies one committed normal entry.
func (f *FSM) Apply(e raft.Entry) any { return f.s.Apply(uint64(e.Index), e.Data) }

// Snapshot captures the current version; its WriteTo may run while later
// entries apply.
func (f *FSM) Snapshot() (driver.FSMSnapshot, error) { return f.s.Snapshot(), nil }

// Restore replaces the state with a snapshot written by Snapshot.WriteTo.
func (f *FSM) Restore(r io.Reader) error { return f.s.Restore(r) }
