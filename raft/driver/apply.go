package driver

import (
	"fmt"
	"maps"
	"slices"

	"github.com/agentd/agentd/raft"
)

// applyState is owned by the apply worker: only apply jobs read or write it
// (Submit orders them after the handler's writes at construction).
type applyState struct {
	// index/term of the last applied entry (or restored snapshot).
	index raft.Index
	term  raft.Term
	// conf is the configuration as of index, carried by the entry at
	// confIndex: the configuration a snapshot taken now must record.
	conf      raft.Configuration
	confIndex raft.Index
}

// submitApply hands committed entries to the apply worker. If the batch
// brings the applied index SnapshotThreshold past the last snapshot, the
// same job captures an FSM snapshot right after its last entry.
func (h *Handler) submitApply(ents []raft.Entry) {
	last := ents[len(ents)-1].Index
	capture := !h.snapshotting && last >= h.lastSnapIndex+h.cfg.SnapshotThreshold
	if capture {
		h.snapshotting = true
	}
	st, fsm := h.applyState, h.deps.FSM
	results := make([]any, len(ents))
	early := h.earlyFutures(ents)
	var (
		snap    FSMSnapshot
		meta    raft.SnapshotMeta
		snapErr error
		confErr error
	)
	h.deps.Apply.Submit(func() {
		for i := range ents {
			e := &ents[i]
			if e.Index <= st.index {
				// Already covered by a restored snapshot: its proposal is
				// resolved by the handler (Unknown), not here.
				if early != nil {
					early[i] = nil
				}
				continue
			}
			switch e.Type {
			case raft.EntryNormal:
				results[i] = fsm.Apply(*e)
			case raft.EntryConfig:
				c, err := raft.DecodeConfiguration(e.Data)
				if err != nil && confErr == nil {
					confErr = fmt.Errorf("driver: config entry %d: %w", e.Index, err)
				}
				st.conf, st.confIndex = c, e.Index
			}
			st.index, st.term = e.Index, e.Term
		}
		// The proposers wake now, not after a hop through the handler
		// goroutine; finishApply's own resolve of these loses quietly.
		for i, f := range early {
			if f != nil && confErr == nil {
				f.tryResolve(Committed, results[i], nil)
			}
		}
		if capture {
			meta = raft.SnapshotMeta{Index: st.index, Term: st.term, Configuration: st.conf, ConfigIndex: st.confIndex}
			snap, snapErr = fsm.Snapshot()
		}
	}, func() {
		h.Batch(func() {
			if h.stopped {
				return
			}
			if confErr != nil {
				// The core accepted this entry, so the bytes are corrupt.
				h.fatal(confErr)
				return
			}
			h.finishApply(ents, results)
			if capture {
				if snapErr != nil {
					h.fatal(fmt.Errorf("driver: FSM snapshot at %d: %w", meta.Index, snapErr))
					return
				}
				h.writeLocalSnapshot(meta, snap)
			}
		})
	})
}

// earlyFutures returns, by position in ents, the early futures (see
// Future.early) of proposals whose entry is in ents with the proposal's
// term, so the apply worker can resolve them Committed right after
// applying the batch: the core hands out only committed entries, and a
// matching term means the entry is the proposal's. (One the job skips as
// covered by a restored snapshot is left to the handler, as before.) nil
// when there are none. The futures stay in h.proposals: if the handler
// stops or loses leadership first, its resolve (Unknown) wins instead.
// Handler.applied may trail a proposer woken this way by one hand-off.
func (h *Handler) earlyFutures(ents []raft.Entry) []*Future {
	if len(h.proposals) == 0 {
		return nil
	}
	var fs []*Future
	for i := range ents {
		f := h.proposals[ents[i].Index]
		if f == nil || !f.early || f.Term != ents[i].Term || ents[i].Index <= h.applied {
			continue
		}
		if fs == nil {
			fs = make([]*Future, len(ents))
		}
		fs[i] = f
	}
	return fs
}

// finishApply runs on the handler goroutine after an apply job: it traces,
// resolves proposals, tells the core, and serves reads.
func (h *Handler) finishApply(ents []raft.Entry, results []any) {
	for i := range ents {
		e := &ents[i]
		if e.Index <= h.applied {
			continue
		}
		if h.cfg.Tracer != nil {
			h.cfg.Tracer.TraceApply(h.id, e)
		}
		if f := h.proposals[e.Index]; f != nil {
			delete(h.proposals, e.Index)
			if f.Term == e.Term {
				f.settle(Committed, results[i], nil)
			} else {
				f.settle(Failed, nil, ErrProposalFailed)
			}
		}
	}
	last := ents[len(ents)-1].Index
	if last > h.applied {
		h.applied = last
		h.node.Applied(last)
	}
	h.reads.serve(h.applied)
}

// appliedBySnapshot moves applied to a restored snapshot's index. Proposals
// at or below it are resolved Unknown: the snapshot does not say which
// entries it holds.
func (h *Handler) appliedBySnapshot(i raft.Index) {
	h.resolveProposals(func(idx raft.Index) bool { return idx <= i }, Unknown, ErrLeadershipLost)
	if i > h.applied {
		h.applied = i
	}
	h.reads.serve(h.applied)
}

// resolveProposals resolves, in index order, the proposals whose index
// matches. They leave the map before any future resolves, because a
// future's callback may propose again.
func (h *Handler) resolveProposals(match func(raft.Index) bool, o Outcome, err error) {
	var fs []*Future
	for _, idx := range sortedIndexes(h.proposals) {
		if match(idx) {
			fs = append(fs, h.proposals[idx])
			delete(h.proposals, idx)
		}
	}
	for _, f := range fs {
		f.settle(o, nil, err)
	}
}

func sortedIndexes[V any](m map[raft.Index]V) []raft.Index {
	return slices.Sorted(maps.Keys(m))
}
