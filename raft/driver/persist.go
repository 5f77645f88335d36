package driver

import (
	"fmt"

	"github.com/agentd/agentd/raft"
)

// persistItem is one unit of queued disk work: a Ready's durable part, or
// the log side of a local snapshot.
type persistItem struct {
	hs         raft.HardState
	entries    []raft.Entry
	afterMsgs  []raft.Message
	mark       raft.PersistMark
	snapshot   *raft.SnapshotMeta // a received snapshot to install (barrier)
	staged     *stagedSnapshot
	localSnap  *raft.SnapshotMeta // record a local snapshot and compact (no Ready)
	entryBytes uint64
}

func (h *Handler) queuePersist(rd raft.Ready) {
	it := persistItem{hs: rd.HardState, entries: rd.Entries, afterMsgs: rd.MessagesAfterPersist, mark: rd.Persist}
	for i := range rd.Entries {
		it.entryBytes += rd.Entries[i].Size()
	}
	if len(h.persistQ) == cap(h.persistQ) {
		// The queue is consumed from the front (pumpPersist reslices it),
		// so plain append would reallocate every item or two; give the
		// new array room for a run of Readys. Batches in flight keep
		// their old array.
		q := make([]persistItem, len(h.persistQ), len(h.persistQ)+16)
		copy(q, h.persistQ)
		h.persistQ = q
	}
	h.persistQ = append(h.persistQ, it)
}

// pumpPersist submits the next disk job if none is in flight, or
// acknowledges a commit-only batch without one. It reports whether it did
// either (an acknowledgement, or a synchronous Worker, may have produced
// new Readys). Only advance calls it.
func (h *Handler) pumpPersist() bool {
	if h.persisting || h.stopped || len(h.persistQ) == 0 {
		return false
	}
	head := h.persistQ[0]
	switch {
	case head.snapshot != nil:
		h.persistQ = h.persistQ[1:]
		h.persisting = true
		h.startInstall(head)
	case head.localSnap != nil:
		h.persistQ = h.persistQ[1:]
		h.persisting = true
		h.recordLocalSnapshot(*head.localSnap)
	default:
		n := h.batchLen()
		batch := h.persistQ[:n:n]
		h.persistQ = h.persistQ[n:]
		hs, ents := mergeBatch(batch)
		if len(ents) == 0 && (hs.IsEmpty() || (hs.Term == h.diskHS.Term && hs.Vote == h.diskHS.Vote)) {
			// Only the commit index changed. It may be persisted lazily
			// (raft.HardState): acknowledge without an fsync and let the
			// next Append carry it. Nothing earlier is in flight, so the
			// marks stay in order.
			if !hs.IsEmpty() {
				h.lazyHS = hs
			}
			h.acknowledge(batch)
			return true
		}
		if hs.IsEmpty() {
			hs = h.lazyHS
		}
		h.lazyHS = raft.HardState{}
		if !hs.IsEmpty() {
			h.diskHS = hs
		}
		h.persisting = true
		h.submitAppend(batch, hs, ents)
	}
	return true
}

// batchLen is how many leading queue items merge into one Append: plain
// Readys, up to MaxPersistBatchBytes of entries (at least one).
func (h *Handler) batchLen() int {
	var bytes uint64
	n := 0
	for _, it := range h.persistQ {
		if it.snapshot != nil || it.localSnap != nil {
			break
		}
		if n > 0 && bytes+it.entryBytes > h.cfg.MaxPersistBatchBytes {
			break
		}
		bytes += it.entryBytes
		n++
	}
	return n
}

// mergeBatch folds the batch into one HardState (the latest non-empty) and
// one run of entries. A later Ready's entries replace the earlier ones from
// their first index on, exactly as two Appends in a row would; the merged
// result is what the disk would hold after writing them one by one.
func mergeBatch(batch []persistItem) (raft.HardState, []raft.Entry) {
	var hs raft.HardState
	if len(batch) == 1 {
		return batch[0].hs, batch[0].entries
	}
	var ents []raft.Entry // always a fresh slice: Ready slices belong to the core
	for _, it := range batch {
		if !it.hs.IsEmpty() {
			hs = it.hs
		}
		if len(it.entries) == 0 {
			continue
		}
		if len(ents) > 0 {
			first, base, last := it.entries[0].Index, ents[0].Index, ents[len(ents)-1].Index
			switch {
			case first <= base:
				ents = ents[:0]
			case first <= last:
				ents = ents[:first-base]
			case first != last+1:
				panic(fmt.Sprintf("driver: Ready entries start at %d after a batch ending at %d", first, last))
			}
		}
		ents = append(ents, it.entries...)
	}
	return hs, ents
}

func (h *Handler) submitAppend(batch []persistItem, hs raft.HardState, ents []raft.Entry) {
	h.stats.DiskJobs++
	h.submit(h.deps.Disk, func() error {
		if err := h.deps.Log.Append(hs, ents); err != nil {
			return fmt.Errorf("driver: append %d entries: %w", len(ents), err)
		}
		return nil
	}, func() {
		h.stats.PersistedEnts += uint64(len(ents))
		h.tracePersist(hs, ents, 0)
		h.persisting = false
		h.acknowledge(batch)
	})
}

// acknowledge sends each item's MessagesAfterPersist, then hands its mark
// to the core, in Ready order.
func (h *Handler) acknowledge(batch []persistItem) {
	for i := range batch {
		h.sendAll(batch[i].afterMsgs)
		h.node.Persisted(batch[i].mark)
	}
}

func (h *Handler) tracePersist(hs raft.HardState, ents []raft.Entry, snap raft.Index) {
	if h.cfg.Tracer == nil {
		return
	}
	first, last := raft.Index(1), raft.Index(0)
	if len(ents) > 0 {
		first, last = ents[0].Index, ents[len(ents)-1].Index
	}
	h.cfg.Tracer.TracePersist(h.id, hs, first, last, snap)
}
