package drivertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// FSM records every applied command. Apply returns the number of commands
// applied so far. Safe for concurrent use (tests read it while the apply
// worker writes).
type FSM struct {
	mu   sync.Mutex
	cmds [][]byte // guarded by mu
	last raft.Index
	// Restores counts Restore calls.
	restores int
}

// Apply implements driver.FSM.
func (f *FSM) Apply(e raft.Entry) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.Index <= f.last {
		panic(fmt.Sprintf("drivertest: apply %d after %d", e.Index, f.last))
	}
	f.last = e.Index
	f.cmds = append(f.cmds, slices.Clone(e.Data))
	return len(f.cmds)
}

// Commands returns a copy of the applied commands.
func (f *FSM) Commands() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds)
}

// Len is the number of applied commands.
func (f *FSM) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cmds)
}

// Restores is the number of Restore calls.
func (f *FSM) Restores() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restores
}

// Snapshot implements driver.FSM.
func (f *FSM) Snapshot() (driver.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fsmSnapshot{cmds: slices.Clone(f.cmds), last: f.last}, nil
}

// Restore implements driver.FSM.
func (f *FSM) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	last, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("drivertest: bad snapshot header")
	}
	b = b[n:]
	var cmds [][]byte
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return fmt.Errorf("drivertest: bad snapshot")
		}
		cmds = append(cmds, slices.Clone(b[n:n+int(l)]))
		b = b[n+int(l):]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds, f.last = cmds, raft.Index(last)
	f.restores++
	return nil
}

type fsmSnapshot struct {
	cmds [][]byte
	last raft.Index
}

func (s fsmSnapshot) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	buf.Write(binary.AppendUvarint(nil, uint64(s.last)))
	for _, c := range s.cmds {
		buf.Write(binary.AppendUvarint(nil, uint64(len(c))))
		buf.Write(c)
	}
	return buf.WriteTo(w)
}
