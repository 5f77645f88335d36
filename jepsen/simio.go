package jepsen

import (
	"bytes"
	"io"

	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// simWorker is a driver.Worker on virtual time: jobs run one at a time, in
// submission order, each as one host event that performs the work and
// then calls done — a disk job takes the host's disk latency (slow-disk
// faults included, as in force when the job starts), an apply job no time.
// A crash drops the queue with the host's events; a job whose work lost
// power partway (disk.go) crashes the node instead of calling done.
type simWorker struct {
	n     *node
	disk  bool
	h     *driver.Handler // the process the worker belongs to; set lazily
	queue []simJob
	busy  bool
}

type simJob struct{ work, done func() }

var _ driver.Worker = (*simWorker)(nil)

func (w *simWorker) Submit(work, done func()) {
	w.queue = append(w.queue, simJob{work, done})
	if !w.busy {
		w.next()
	}
}

func (w *simWorker) next() {
	if len(w.queue) == 0 {
		w.busy = false
		return
	}
	w.busy = true
	j := w.queue[0]
	w.queue[0] = simJob{}
	if len(w.queue) == 1 {
		w.queue = w.queue[:0] // empty: refill from the front, not past the end
	} else {
		w.queue = w.queue[1:]
	}
	n := w.n
	var d = n.host.DiskLatency()
	if !w.disk {
		d = 0
	}
	epoch := n.host.Epoch()
	n.host.Go(d, func() {
		if n.host.Epoch() != epoch {
			return
		}
		j.work()
		if n.dying {
			n.powerLoss()
			return
		}
		if j.done != nil {
			j.done()
		}
		if n.host.Epoch() == epoch {
			w.next()
		}
	})
}

// kvFSM adapts kv.Store to driver.FSM. It keeps each applied entry until
// the handler traces its apply, so the checkers see the exact bytes the
// state machine executed.
type kvFSM struct {
	n      *node
	store  *kv.Store
	recent map[raft.Index]raft.Entry
}

func newKVFSM(n *node) *kvFSM {
	return &kvFSM{n: n, store: kv.NewStore(), recent: map[raft.Index]raft.Entry{}}
}

func (f *kvFSM) Apply(e raft.Entry) any {
	f.recent[e.Index] = e
	cmd, err := kv.Decode(e.Data)
	if err != nil {
		f.n.c.check.Fail("internal-error", "%s: undecodable entry %d: %v", f.n.id, e.Index, err)
		return kv.Result{}
	}
	return f.store.Apply(cmd)
}

// take returns and forgets the entry applied at i.
func (f *kvFSM) take(i raft.Index) (raft.Entry, bool) {
	e, ok := f.recent[i]
	delete(f.recent, i)
	return e, ok
}

// Snapshot captures the store; a local snapshot follows (snapshot file,
// then the WAL records it and compacts), during which the nemesis may
// crash the node.
func (f *kvFSM) Snapshot() (driver.FSMSnapshot, error) {
	f.n.c.maybeCrashDuring(f.n, FaultCrashCompaction, f.n.c.swarm.CrashInCompactPPM)
	return snapBytes(f.store.Snapshot()), nil
}

func (f *kvFSM) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	clear(f.recent)
	return f.store.Restore(b)
}

type snapBytes []byte

func (b snapBytes) WriteTo(w io.Writer) (int64, error) { return bytes.NewReader(b).WriteTo(w) }
