package driver

import (
	"io"

	"github.com/agentd/agentd/raft"
)

// Worker runs jobs in submission order, off the handler goroutine, and calls
// each job's done back on the handler goroutine after its work returned.
// Production: one goroutine per worker (GoWorker). Simulation: work runs
// after a simulated latency on the event loop.
type Worker interface {
	Submit(work func(), done func())
}

// FSM is the replicated state machine.
type FSM interface {
	// Apply applies one committed EntryNormal entry and returns the result
	// handed to the proposer. Noop and configuration entries are not passed
	// (the driver tracks configurations itself).
	Apply(e raft.Entry) any
	// Snapshot returns a consistent view of the state as of the last
	// applied entry. It runs on the apply worker and must be cheap; the
	// returned view's WriteTo may run concurrently with later Applys.
	Snapshot() (FSMSnapshot, error)
	// Restore replaces the whole state with the snapshot read from r.
	Restore(r io.Reader) error
}

// FSMSnapshot is a point-in-time view of the FSM: it writes the state as of
// the Snapshot call (io.WriterTo; the count is informational).
type FSMSnapshot interface {
	WriteTo(w io.Writer) (int64, error)
}

// Transport carries encoded messages to peers. Send is fire-and-forget and
// must not block: the transport may drop, delay or reorder. It owns payload
// after the call.
type Transport interface {
	// Send transmits payload (from raft.EncodeMessage) to node to at addr.
	// priority marks Message.IsPriority messages (votes, heartbeats), which
	// must not queue behind bulk data.
	Send(to raft.NodeID, addr string, payload []byte, priority bool)
	// SendSnapshot streams the snapshot file opened by open, together with
	// msg (a MsgSnap), and reports success with done, called on the handler
	// goroutine.
	SendSnapshot(to raft.NodeID, addr string, msg raft.Message, open func() (io.ReadCloser, error), done func(ok bool))
}

// Staged is a received snapshot's bytes, staged by the transport in a
// temporary file until the handler installs (copies) or discards it.
type Staged interface {
	Open() (io.ReadCloser, error)
	Remove() error
}

// LogStore is raft.LogStore plus recording a locally taken snapshot without
// discarding entries (trailing logs are kept for slow followers).
type LogStore interface {
	raft.LogStore
	// RecordSnapshot durably records meta, a snapshot taken locally of
	// entries this log holds, as the latest snapshot without discarding any
	// entry (wal.Log provides it). raft.ErrSnapshotOutOfDate if meta.Index <=
	// Snapshot().Index.
	RecordSnapshot(meta raft.SnapshotMeta) error
}

// SnapshotStore keeps snapshot files.
type SnapshotStore interface {
	// Create starts writing a snapshot described by meta.
	Create(meta raft.SnapshotMeta) (SnapshotSink, error)
	// Open opens the snapshot at index.
	Open(index raft.Index) (raft.SnapshotMeta, io.ReadCloser, error)
	// Latest returns the newest durable snapshot's meta; ok is false when
	// there is none.
	Latest() (meta raft.SnapshotMeta, ok bool, err error)
}

// SnapshotSink receives a snapshot's bytes. Close makes the file durable
// (fsync, rename, directory fsync) and the newest; Abort discards it.
type SnapshotSink interface {
	io.Writer
	Close() error
	Abort() error
}

// Tracer observes the handler's externally visible effects, always on the
// handler goroutine and in a deterministic order. The simulator uses it for
// byte-identical traces. Nil means no tracing.
type Tracer interface {
	// TracePersist: hs and the entries [first, last] are durable (first >
	// last when there were none). snap is the installed snapshot's index, 0
	// if none.
	TracePersist(id raft.NodeID, hs raft.HardState, first, last raft.Index, snap raft.Index)
	// TraceApply: e was applied. It is passed whole because it need not be
	// in the local log yet (raft.Config.ApplyBeforeLocalDurable). e is the
	// driver's: the tracer must not keep or modify it.
	TraceApply(id raft.NodeID, e *raft.Entry)
	// TraceSend: m was handed to the transport.
	TraceSend(m *raft.Message)
}
