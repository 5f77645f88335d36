package driver

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/agentd/agentd/raft"
)

// ErrStateExists is returned by Bootstrap when the log is not empty.
var ErrStateExists = errors.New("driver: bootstrap: state already exists")

// Bootstrap writes the first configuration (index 1, term 1) to an empty
// log. It refuses with ErrStateExists when any state exists: bootstrapping
// twice could elect two leaders for term 1.
func Bootstrap(log raft.LogStore, conf raft.Configuration) error {
	hs, snap, err := log.InitialState()
	if err != nil {
		return fmt.Errorf("driver: bootstrap: %w", err)
	}
	if !hs.IsEmpty() || !snap.IsEmpty() || log.LastIndex() != 0 {
		return fmt.Errorf("%w: hard state %+v, snapshot %d, last index %d", ErrStateExists, hs, snap.Index, log.LastIndex())
	}
	hs, ents := raft.BootstrapEntries(conf)
	if err := log.Append(hs, ents); err != nil {
		return fmt.Errorf("driver: bootstrap: %w", err)
	}
	return nil
}

// New builds a Handler over existing (possibly empty, possibly crashed)
// storage: it reconciles the snapshot store with the log, restores the FSM
// from the newest snapshot, and starts the core, which then replays the
// committed entries above the snapshot through the apply worker.
//
// It does disk I/O on the calling goroutine: call it before the handler
// goroutine starts taking input.
func New(cfg Config, deps Deps) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Snapshots == nil || deps.FSM == nil || deps.Transport == nil ||
		deps.Disk == nil || deps.Apply == nil || deps.Snap == nil {
		return nil, fmt.Errorf("driver: new: missing dependency")
	}
	st, err := recoverSnapshot(deps)
	if err != nil {
		return nil, err
	}
	node, err := raft.NewNode(cfg.Raft, deps.Log)
	if err != nil {
		return nil, fmt.Errorf("driver: new: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		cfg:           cfg,
		id:            cfg.Raft.ID,
		node:          node,
		deps:          deps,
		log:           logger,
		addrs:         make(map[raft.NodeID]string),
		applied:       st.index,
		applyState:    st,
		proposals:     make(map[raft.Index]*Future),
		lastSnapIndex: st.index,
	}
	h.reads.next = cfg.ReadContextBase
	h.diskHS, _, _ = deps.Log.InitialState()
	h.refreshAddrs()
	return h, nil
}

// recoverSnapshot restores the FSM from the newest snapshot file and makes
// the log's snapshot meta agree with it.
//
// The file is always made durable before the log records it (local
// snapshots: RecordSnapshot after the file's Close; received ones:
// ApplySnapshot after the copy), so after a crash the file may be ahead of
// the log, never behind. Ahead: ApplySnapshot(file meta) completes the
// interrupted step; it keeps the log's entries after the snapshot if they
// match (Figure 13 step 6), so nothing committed is lost, and the FSM and
// the log agree on the applied point before the core starts.
func recoverSnapshot(deps Deps) (*applyState, error) {
	logSnap := deps.Log.Snapshot()
	meta, ok, err := deps.Snapshots.Latest()
	if err != nil {
		return nil, fmt.Errorf("driver: recover: latest snapshot: %w", err)
	}
	if !ok {
		if !logSnap.IsEmpty() {
			return nil, fmt.Errorf("driver: recover: log records snapshot %d/%d but no snapshot file exists", logSnap.Index, logSnap.Term)
		}
		return &applyState{}, nil
	}
	switch {
	case meta.Index < logSnap.Index:
		return nil, fmt.Errorf("driver: recover: newest snapshot file %d is older than the log's snapshot %d", meta.Index, logSnap.Index)
	case meta.Index > logSnap.Index:
		if err := deps.Log.ApplySnapshot(meta); err != nil {
			return nil, fmt.Errorf("driver: recover: bring log to snapshot %d: %w", meta.Index, err)
		}
	case meta.Term != logSnap.Term:
		return nil, fmt.Errorf("driver: recover: snapshot file %d has term %d, log says %d", meta.Index, meta.Term, logSnap.Term)
	}
	if err := restoreFSM(deps.FSM, deps.Snapshots, meta); err != nil {
		return nil, fmt.Errorf("driver: recover: %w", err)
	}
	return &applyState{index: meta.Index, term: meta.Term, conf: meta.Configuration, confIndex: meta.ConfigIndex}, nil
}
