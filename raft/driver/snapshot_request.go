package driver

import (
	"context"
	"fmt"

	"github.com/agentd/agentd/raft"
)

// Snapshots on the caller's schedule (Consul's raft_snapshot_interval):
// hashicorp/raft checks every interval, with jitter, whether the log holds
// raft_snapshot_threshold entries since the last snapshot, and only then
// takes one. A caller wanting that sets Config.SnapshotThreshold out of
// reach (the automatic check in submitApply then never fires) and calls
// RequestSnapshot from its timer.

// SnapshotThresholdNever is a Config.SnapshotThreshold that never triggers
// a snapshot by itself (far below overflow when added to an index).
const SnapshotThresholdNever raft.Index = 1 << 62

// RequestSnapshot takes a local snapshot now, as the threshold would, if
// at least minEntries (>= 1) entries were applied since the newest
// snapshot and none is being taken. It reports whether one was started.
func (h *Handler) RequestSnapshot(minEntries raft.Index) bool {
	minEntries = max(minEntries, 1)
	if h.stopped || h.snapshotting || h.applied < h.lastSnapIndex+minEntries {
		return false
	}
	h.snapshotting = true
	st, fsm := h.applyState, h.deps.FSM
	var (
		snap FSMSnapshot
		meta raft.SnapshotMeta
		err  error
	)
	// On the apply worker, after every apply already submitted: the view
	// is at st.index >= h.applied.
	h.deps.Apply.Submit(func() {
		meta = raft.SnapshotMeta{Index: st.index, Term: st.term, Configuration: st.conf, ConfigIndex: st.confIndex}
		snap, err = fsm.Snapshot()
	}, func() {
		h.Batch(func() {
			if h.stopped {
				return
			}
			if err != nil {
				h.fatal(fmt.Errorf("driver: FSM snapshot at %d: %w", meta.Index, err))
				return
			}
			h.writeLocalSnapshot(meta, snap)
		})
	})
	return true
}

// RequestSnapshot runs Handler.RequestSnapshot on the loop.
func (d *Driver) RequestSnapshot(ctx context.Context, minEntries raft.Index) (bool, error) {
	var started bool
	err := d.call(ctx, func() { started = d.h.RequestSnapshot(minEntries) })
	return started, err
}
