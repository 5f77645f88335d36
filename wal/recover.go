package wal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// maxSegmentFileBytes bounds a segment file read whole during recovery.
const maxSegmentFileBytes = 4 << 30

// op is one decoded record awaiting its batch's commit marker.
type op struct {
	t      recordType
	off    int64
	ent    raft.Entry // Index and Term only; data stays on disk
	hs     raft.HardState
	action snapAction
	meta   raft.SnapshotMeta
	index  raft.Index // truncate / compact
	term   raft.Term  // compact
}

// replay rebuilds the log's state from its segments in seq order.
type replay struct {
	cfg        Config
	idx        logIndex
	hs         raft.HardState
	snap       raft.SnapshotMeta
	started    bool // a segment's base state has been applied
	expectBase bool // the previous record was a segment header
	gap        gap  // entries before the oldest surviving segment
}

// recoverSegments scans every segment. It returns the segments that hold
// complete batches (opened for reads) and the replayed state. A torn tail
// of the final segment is cut off here, durably.
func recoverSegments(fsys vfs.FS, dir string, cfg Config, found []*segment) (*replay, []*segment, error) {
	r := &replay{cfg: cfg}
	r.idx.first = 1
	var segs []*segment
	for k, seg := range found {
		final := k == len(found)-1
		data, err := readWhole(fsys, seg.path)
		if err != nil {
			return nil, nil, err
		}
		end, err := r.scan(seg, data, final)
		if err != nil {
			return nil, nil, err
		}
		if dirty := dirtyEnd(data, end); dirty > end || end == 0 {
			// Only reachable for the final segment (scan returns an error
			// for any other): a torn tail, or a segment whose first batch
			// never became durable.
			if err := repairTail(fsys, dir, seg, end, dirty, cfg); err != nil {
				return nil, nil, err
			}
			if end == 0 {
				continue // removed
			}
		}
		seg.size = end
		if seg.f, err = fsys.Open(seg.path); err != nil {
			return nil, nil, fmt.Errorf("wal: open %s: %w", seg.path, err)
		}
		segs = append(segs, seg)
	}
	if r.gap.open {
		return nil, nil, fmt.Errorf("wal: entries %d to %d are in segments that no longer exist",
			r.gap.compacted+1, r.gap.end)
	}
	return r, segs, nil
}

func readWhole(fsys vfs.FS, path string) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("wal: stat %s: %w", path, err)
	}
	if n > maxSegmentFileBytes {
		return nil, fmt.Errorf("wal: segment %s is %d bytes, over the %d limit", path, n, maxSegmentFileBytes)
	}
	data := make([]byte, n)
	if _, err := f.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, fmt.Errorf("wal: read %s: %w", path, err)
	}
	return data, nil
}

// dirtyEnd returns the end of the last non-zero byte at or after end
// (end itself when everything from end on is zero: the clean end of the
// log, or the unused part of a zero-filled segment).
func dirtyEnd(data []byte, end int64) int64 {
	i := int64(len(data))
	for i > end {
		k := max(end, i-int64(len(zeroChunk)))
		if !bytes.Equal(data[k:i], zeroChunk[:i-k]) {
			break
		}
		i = k
	}
	for i > end && data[i-1] == 0 {
		i--
	}
	return i
}

// repairTail zeroes the final segment's torn tail, the non-zero bytes in
// [end, dirty) after its last complete batch, or removes the segment when
// it has no complete batch, and makes that durable before anything is
// appended (WAL checklist §2.4 item 3). The tail is zeroed rather than
// truncated so that the segment keeps its zero-filled, allocated space
// (see zeroFill) and a later, shorter batch cannot leave old bytes behind
// it (etcd's ZeroToEnd).
func repairTail(fsys vfs.FS, dir string, seg *segment, end, dirty int64, cfg Config) error {
	if cfg.Logger != nil {
		cfg.Logger.Warn("wal: repairing torn tail", "file", seg.path, "keep", end, "drop", dirty-end)
	}
	if end == 0 {
		if err := fsys.Remove(seg.path); err != nil {
			return fmt.Errorf("wal: remove torn segment %s: %w", seg.path, err)
		}
		if err := fsys.SyncDir(dir); err != nil {
			return fmt.Errorf("wal: sync dir %s: %w", dir, err)
		}
		return nil
	}
	f, err := fsys.OpenAppend(seg.path)
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", seg.path, err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, dirty-end), end); err != nil {
		return fmt.Errorf("wal: zero %s from %d to %d: %w", seg.path, end, dirty, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wal: sync %s: %w", seg.path, err)
	}
	return nil
}

// scan replays one segment's complete batches and returns the end of the
// last one. Damage is corruption (a *CorruptionError) unless it lies after
// the last complete commit marker of the final segment.
func (r *replay) scan(seg *segment, data []byte, final bool) (int64, error) {
	var (
		off, committed int64
		pending        []op
		crc            uint32
		bad            error
	)
	for off < int64(len(data)) {
		t, payload, n, err := decodeRecord(data[off:], r.cfg.MaxRecordBytes)
		if err != nil {
			bad = err
			break
		}
		if t == recCommit {
			c, err := decodeCommit(payload)
			if err != nil {
				bad = err
				break
			}
			if c.batchStart != committed || c.records != uint32(len(pending)) || c.crc != crc {
				// The commit marker itself is complete and checksummed, so
				// the batch before it was written whole and fsynced: a
				// mismatch is corruption of acknowledged data, never a torn
				// tail, even in the final batch of the final segment.
				return 0, &CorruptionError{File: seg.path, Offset: committed,
					Err: fmt.Errorf("%w: commit marker at offset %d does not match its batch", errBadFormat, off)}
			}
			for _, o := range pending {
				if err := r.apply(seg, o); err != nil {
					return 0, &CorruptionError{File: seg.path, Offset: o.off, Err: err}
				}
			}
			pending, crc = pending[:0], 0
			off += int64(n)
			committed = off
			continue
		}
		o, err := decodeOp(t, payload)
		if err == nil && (off == 0) != (t == recSegmentHeader) {
			err = fmt.Errorf("%w: %v record at offset %d", errBadFormat, t, off)
		}
		if err == nil && t == recSegmentHeader && (o.index != seg.firstIndex || o.term != raft.Term(seg.seq)) {
			err = fmt.Errorf("%w: header says seq %d first index %d, name says %d %d",
				errBadFormat, o.term, o.index, seg.seq, seg.firstIndex)
		}
		if err != nil {
			bad = err
			break
		}
		o.off = off
		pending = append(pending, o)
		crc = crc32.Update(crc, castagnoli, data[off:off+int64(n)])
		off += int64(n)
	}
	if dirtyEnd(data, committed) == committed && (committed > 0 || final) {
		return committed, nil // zeros after the last batch: the end of the log
	}
	badOff := off
	if bad == nil {
		bad = errors.New("records after the last commit marker")
		badOff = committed
	}
	if !final || laterCommit(data, badOff, committed, r.cfg.MaxRecordBytes) {
		return 0, &CorruptionError{File: seg.path, Offset: badOff, Err: bad}
	}
	return committed, nil
}

// laterCommit reports whether a complete commit marker — a commit record
// whose own checksum is intact — lies after bad and claims a batch that
// starts at or after committed. Then the damage at bad is not a torn tail:
// the marker was written after the bytes at bad, so they were durable too
// (the definition: any bad checksum at or before a complete commit
// marker is corruption). Candidates are tried at every aligned offset,
// since the damage may have broken the length chain.
func laterCommit(data []byte, bad, committed int64, maxRec uint32) bool {
	for p := bad + align; p+headerLen+commitPayloadLen <= int64(len(data)); p += align {
		if recordType(data[p+4]) != recCommit || data[p] != commitPayloadLen {
			continue
		}
		t, payload, _, err := decodeRecord(data[p:], maxRec)
		if err != nil || t != recCommit {
			continue
		}
		c, err := decodeCommit(payload)
		if err != nil || c.batchStart < committed || c.batchStart > p {
			continue
		}
		return true
	}
	return false
}

// decodeOp decodes a non-commit record's payload.
func decodeOp(t recordType, payload []byte) (op, error) {
	o := op{t: t}
	var err error
	switch t {
	case recSegmentHeader:
		var h segmentHeader
		h, err = decodeSegmentHeader(payload)
		// Carried in index/term to keep op small.
		o.index, o.term = h.firstIndex, raft.Term(h.seq)
	case recEntry:
		if len(payload) < entryFixedLen {
			err = fmt.Errorf("%w: entry of %d bytes", errBadFormat, len(payload))
		} else {
			o.ent, err = decodeEntry(payload[:entryFixedLen])
		}
	case recHardState:
		o.hs, err = decodeHardState(payload)
	case recSnapshot:
		o.action, o.meta, err = decodeSnapshot(payload)
	case recTruncate, recCompact:
		o.index, o.term, err = decodeIndexTerm(payload)
	default:
		err = fmt.Errorf("%w: unexpected %v record", errBadFormat, t)
	}
	return o, err
}

// apply performs one committed record on the replayed state.
func (r *replay) apply(seg *segment, o op) error {
	base := r.expectBase
	r.expectBase = false
	if base && o.t != recCompact {
		return fmt.Errorf("segment header not followed by the base state")
	}
	switch o.t {
	case recSegmentHeader:
		if r.started && seg.firstIndex != r.idx.lastIndex()+1 {
			return fmt.Errorf("segment starts at index %d but the log ends at %d", seg.firstIndex, r.idx.lastIndex())
		}
		r.expectBase = true
		return nil
	case recCompact:
		if base && !r.started {
			// The base state of the oldest surviving segment. Entries
			// (o.index, firstIndex-1] lived in deleted segments: a gap
			// that later records must compact away (checked at the end).
			if o.index >= seg.firstIndex {
				return fmt.Errorf("base compact index %d not below segment first index %d", o.index, seg.firstIndex)
			}
			r.started = true
			r.idx.reset(seg.firstIndex-1, 0)
			r.gap = gap{open: true, end: seg.firstIndex - 1}
			return r.compact(o.index, o.term)
		}
		if base && (o.index != r.idx.first-1 || o.term != r.idx.prevTerm) && !r.gap.open {
			return fmt.Errorf("segment restates compact point %d/%d, log has %d/%d",
				o.index, o.term, r.idx.first-1, r.idx.prevTerm)
		}
	}
	if !r.started {
		return fmt.Errorf("%v record before the base state", o.t)
	}
	switch o.t {
	case recCompact:
		return r.compact(o.index, o.term)
	case recEntry:
		return r.idx.appendEntry(o.ent.Index, location{seg: seg, off: o.off, term: o.ent.Term})
	case recHardState:
		r.hs = o.hs
	case recSnapshot:
		r.snap = o.meta
		switch o.action {
		case snapKeepSuffix:
			return r.compact(o.meta.Index, o.meta.Term)
		case snapDiscardLog:
			r.idx.reset(o.meta.Index, o.meta.Term)
			r.gap = gap{}
		}
	case recTruncate:
		if r.gap.open && o.index < r.gap.end {
			// Truncating into the gap shrinks it.
			if o.index < r.gap.compacted {
				return fmt.Errorf("truncate after %d below compact point %d", o.index, r.gap.compacted)
			}
			r.idx.reset(o.index, 0)
			r.gap.end = o.index
			return r.compact(r.gap.compacted, r.gap.compactedTerm)
		}
		return r.idx.truncateAfter(o.index)
	}
	return nil
}

// compact applies a prefix truncation to i (term t), which may fall in
// the gap below the oldest surviving segment.
func (r *replay) compact(i raft.Index, t raft.Term) error {
	if r.gap.open {
		if i < r.gap.end {
			if i >= r.gap.compacted {
				r.gap.compacted, r.gap.compactedTerm = i, t
			}
			return nil
		}
		r.gap = gap{} // everything missing is now compacted
		if i == r.idx.first-1 {
			r.idx.prevTerm = t
			return nil
		}
	}
	if i+1 < r.idx.first {
		return nil // restatement of an older point
	}
	return r.idx.compact(i, t)
}

// gap describes entries replay cannot see: they were in segments deleted
// after a compaction, so a later compact record must cover them.
type gap struct {
	open          bool
	end           raft.Index // entries (compacted, end] are missing
	compacted     raft.Index // highest compact point seen inside the gap
	compactedTerm raft.Term
}

// listSegments finds the segment files in dir, ordered by seq.
func listSegments(fsys vfs.FS, dir string) ([]*segment, uint64, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: list %s: %w", dir, err)
	}
	var segs []*segment
	var maxSeq uint64
	for _, name := range names { // sorted, and %016x sorts like the number
		seq, first, ok := parseSegmentName(name)
		if !ok {
			continue
		}
		if seq <= maxSeq && len(segs) > 0 {
			return nil, 0, fmt.Errorf("wal: %s: duplicate segment sequence number %d", name, seq)
		}
		maxSeq = seq
		segs = append(segs, &segment{seq: seq, firstIndex: first, path: filepath.Join(dir, name)})
	}
	return segs, maxSeq, nil
}
