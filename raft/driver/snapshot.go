package driver

import (
	"errors"
	"fmt"
	"io"

	"github.com/agentd/agentd/raft"
)

// stagedSnapshot is a received snapshot waiting for, or being installed by,
// the core's Ready.Snapshot.
type stagedSnapshot struct {
	meta   raft.SnapshotMeta
	staged Staged
}

// ReceiveSnapshot steps a MsgSnap whose bytes the transport staged. If the
// core takes the snapshot, its Ready installs the staged bytes; otherwise
// (stale, or from a deposed leader) they are deleted.
func (h *Handler) ReceiveSnapshot(m raft.Message, staged Staged) {
	if h.stopped || m.Type != raft.MsgSnap || m.Snapshot == nil {
		if !h.stopped {
			h.stats.BadMessages++
		}
		h.discardStaged(&stagedSnapshot{staged: staged})
		return
	}
	if h.staged != nil {
		h.discardStaged(h.staged)
	}
	h.staged = &stagedSnapshot{meta: *m.Snapshot, staged: staged}
	if err := h.node.Step(m); err != nil {
		h.stats.StepErrors++
		h.log.Debug("driver: step snapshot", "from", m.From, "err", err)
	}
	// The core's answer must be taken now, even inside a Batch: the staged
	// bytes are matched against this Ready.Snapshot.
	depth := h.batchDepth
	h.batchDepth = 0
	h.advance()
	h.batchDepth = depth
	if h.staged != nil {
		// The core ignored it.
		h.stats.IgnoredSnaps++
		h.discardStaged(h.staged)
		h.staged = nil
	}
}

func (h *Handler) discardStaged(s *stagedSnapshot) {
	// Removing a file is disk work: not on the handler goroutine.
	h.deps.Snap.Submit(func() { _ = s.staged.Remove() }, func() {})
}

// queueInstall claims the staged bytes for rd.Snapshot and queues the
// install as a barrier in the persist queue.
func (h *Handler) queueInstall(rd raft.Ready) {
	s := h.staged
	if s == nil || s.meta.Index != rd.Snapshot.Index || s.meta.Term != rd.Snapshot.Term {
		h.fatal(fmt.Errorf("driver: core installs snapshot %d/%d but no matching staged bytes", rd.Snapshot.Index, rd.Snapshot.Term))
		return
	}
	h.staged = nil
	h.persistQ = append(h.persistQ, persistItem{
		hs: rd.HardState, entries: rd.Entries, afterMsgs: rd.MessagesAfterPersist, mark: rd.Persist,
		snapshot: rd.Snapshot, staged: s,
	})
}

// startInstall runs a received snapshot's install, strictly in sequence:
// copy the staged bytes into the snapshot store (snapshot worker), restore
// the FSM after every earlier apply (apply worker), then ApplySnapshot and
// Append the Ready's own hard state and entries (disk worker).
func (h *Handler) startInstall(it persistItem) {
	meta := *it.snapshot
	h.submit(h.deps.Snap, func() error {
		return copyStaged(h.deps.Snapshots, meta, it.staged.staged)
	}, func() { h.restoreForInstall(it) })
}

func copyStaged(store SnapshotStore, meta raft.SnapshotMeta, staged Staged) (err error) {
	defer func() { _ = staged.Remove() }()
	rc, err := staged.Open()
	if err != nil {
		return fmt.Errorf("driver: open staged snapshot %d: %w", meta.Index, err)
	}
	defer rc.Close()
	sink, err := store.Create(meta)
	if err != nil {
		return fmt.Errorf("driver: create snapshot %d: %w", meta.Index, err)
	}
	if _, err := io.Copy(sink, rc); err != nil {
		return errors.Join(fmt.Errorf("driver: write snapshot %d: %w", meta.Index, err), sink.Abort())
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("driver: close snapshot %d: %w", meta.Index, err)
	}
	return nil
}

func (h *Handler) restoreForInstall(it persistItem) {
	meta := *it.snapshot
	st, fsm, store := h.applyState, h.deps.FSM, h.deps.Snapshots
	h.submit(h.deps.Apply, func() error {
		err := restoreFSM(fsm, store, meta)
		if err == nil {
			*st = applyState{index: meta.Index, term: meta.Term, conf: meta.Configuration, confIndex: meta.ConfigIndex}
		}
		return err
	}, func() {
		h.lastSnapIndex = max(h.lastSnapIndex, meta.Index)
		h.appliedBySnapshot(meta.Index)
		h.persistInstall(it)
	})
}

func restoreFSM(fsm FSM, store SnapshotStore, meta raft.SnapshotMeta) error {
	_, rc, err := store.Open(meta.Index)
	if err != nil {
		return fmt.Errorf("driver: open snapshot %d: %w", meta.Index, err)
	}
	defer rc.Close()
	if err := fsm.Restore(rc); err != nil {
		return fmt.Errorf("driver: restore snapshot %d: %w", meta.Index, err)
	}
	// Stores may verify a checksum only at EOF (wal does): read to the end
	// so that a damaged body is reported even if Restore stopped early.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("driver: snapshot %d: %w", meta.Index, err)
	}
	return nil
}

func (h *Handler) persistInstall(it persistItem) {
	meta := *it.snapshot
	if !it.hs.IsEmpty() {
		h.diskHS = it.hs
	}
	h.stats.DiskJobs++
	h.submit(h.deps.Disk, func() error {
		if err := h.deps.Log.ApplySnapshot(meta); err != nil {
			return fmt.Errorf("driver: apply snapshot %d: %w", meta.Index, err)
		}
		if err := h.deps.Log.Append(it.hs, it.entries); err != nil {
			return fmt.Errorf("driver: append after snapshot %d: %w", meta.Index, err)
		}
		return nil
	}, func() {
		h.stats.Installed++
		h.tracePersist(it.hs, it.entries, meta.Index)
		h.persisting = false
		h.acknowledge([]persistItem{it})
	})
}

// writeLocalSnapshot writes a captured FSM snapshot to the store on the
// snapshot worker, then queues the log side (record + compact) on the disk
// worker, behind any Append already queued.
func (h *Handler) writeLocalSnapshot(meta raft.SnapshotMeta, snap FSMSnapshot) {
	h.submit(h.deps.Snap, func() error {
		return writeSnapshot(h.deps.Snapshots, meta, snap)
	}, func() {
		h.stats.Snapshots++
		h.lastSnapIndex = max(h.lastSnapIndex, meta.Index)
		h.persistQ = append(h.persistQ, persistItem{localSnap: &meta})
	})
}

func writeSnapshot(store SnapshotStore, meta raft.SnapshotMeta, snap FSMSnapshot) error {
	sink, err := store.Create(meta)
	if err != nil {
		return fmt.Errorf("driver: create snapshot %d: %w", meta.Index, err)
	}
	if _, err := snap.WriteTo(sink); err != nil {
		return errors.Join(fmt.Errorf("driver: write snapshot %d: %w", meta.Index, err), sink.Abort())
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("driver: close snapshot %d: %w", meta.Index, err)
	}
	return nil
}

// recordLocalSnapshot records a durable local snapshot file in the log and
// compacts the log below it, keeping TrailingLogs entries. A snapshot the
// log already passed (a received one was installed meanwhile) is skipped.
func (h *Handler) recordLocalSnapshot(meta raft.SnapshotMeta) {
	log, trailing := h.deps.Log, h.cfg.TrailingLogs
	h.submit(h.deps.Disk, func() error {
		if meta.Index <= log.Snapshot().Index {
			return nil
		}
		if err := log.RecordSnapshot(meta); err != nil {
			return fmt.Errorf("driver: record snapshot %d: %w", meta.Index, err)
		}
		if meta.Index > trailing {
			if err := log.Compact(meta.Index - trailing); err != nil {
				return fmt.Errorf("driver: compact to %d: %w", meta.Index-trailing, err)
			}
		}
		return nil
	}, func() {
		h.snapshotting = false
		h.persisting = false
	})
}

// sendSnapshot streams the snapshot file named by m.Snapshot (the log's
// latest snapshot, whose file is durable) to a follower.
func (h *Handler) sendSnapshot(m *raft.Message, addr string) {
	to, index, store := m.To, m.Snapshot.Index, h.deps.Snapshots
	open := func() (io.ReadCloser, error) {
		_, rc, err := store.Open(index)
		return rc, err
	}
	h.deps.Transport.SendSnapshot(to, addr, *m, open, func(ok bool) {
		if h.stopped {
			return
		}
		h.Batch(func() { h.node.ReportSnapshot(to, ok) })
	})
}
