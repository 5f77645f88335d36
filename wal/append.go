package wal

import (
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// batch is one group of records made durable by one fsync and ended by a
// commit marker. Builders fill it; writeBatch frames and writes it.
type batch struct {
	recs []pendingRecord
}

type pendingRecord struct {
	t       recordType
	payload []byte
	off     int64 // set by writeBatch: the record's offset in its segment
}

func (b *batch) add(t recordType, payload []byte) int {
	b.recs = append(b.recs, pendingRecord{t: t, payload: payload})
	return len(b.recs) - 1
}

// Append durably writes hs (when not empty) and ents in one batch with
// one fsync. If ents[0].Index <= LastIndex(), the batch starts with a
// truncate record, so the replaced entries stay gone after any crash once
// Append has returned (and if it has not, the old entries are intact).
func (l *Log) Append(hs raft.HardState, ents []raft.Entry) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.failedErr(); err != nil {
		return err
	}
	if hs.IsEmpty() && len(ents) == 0 {
		return nil
	}
	var b batch
	truncate := false
	if len(ents) > 0 {
		i0 := ents[0].Index
		if i0 < l.idx.first || i0 > l.idx.lastIndex()+1 {
			panic(fmt.Sprintf("wal: append at index %d outside [%d, %d]", i0, l.idx.first, l.idx.lastIndex()+1))
		}
		for k := range ents {
			if ents[k].Index != i0+raft.Index(k) {
				panic(fmt.Sprintf("wal: appended entries not contiguous: %d at position %d after %d", ents[k].Index, k, i0))
			}
			if n := entryFixedLen + len(ents[k].Data); n > int(l.cfg.MaxRecordBytes) {
				return fmt.Errorf("wal: entry %d is %d bytes, over MaxRecordBytes %d", ents[k].Index, n, l.cfg.MaxRecordBytes)
			}
		}
		if i0 <= l.idx.lastIndex() && i0 <= l.snap.Index {
			panic(fmt.Sprintf("wal: append at index %d would replace entries covered by snapshot %d", i0, l.snap.Index))
		}
		if i0 <= l.idx.lastIndex() {
			truncate = true
			b.add(recTruncate, encodeIndexTerm(i0-1, 0))
		}
	}
	if !hs.IsEmpty() {
		b.add(recHardState, encodeHardState(hs))
	}
	l.scratch = l.scratch[:0]
	for k := range ents {
		start := len(l.scratch)
		l.scratch = appendEntryPayload(l.scratch, &ents[k])
		b.add(recEntry, l.scratch[start:len(l.scratch):len(l.scratch)])
	}
	if err := l.writeBatch(&b); err != nil {
		return err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if truncate {
		l.mustIndex(l.idx.truncateAfter(ents[0].Index - 1))
		l.cache.dropOutside(l.idx.first, l.idx.lastIndex())
	}
	if !hs.IsEmpty() {
		l.hs = hs
	}
	active := l.segs[len(l.segs)-1]
	first := len(b.recs) - len(ents) // writeBatch may have prepended a segment header
	// The caller may reuse its buffers: the cache gets copies, all in one
	// allocation per batch.
	var n int
	for k := range ents {
		n += len(ents[k].Data)
	}
	data := make([]byte, 0, n)
	for k := range ents {
		e := ents[k]
		l.mustIndex(l.idx.appendEntry(e.Index, location{seg: active, off: b.recs[first+k].off, term: e.Term}))
		if len(e.Data) > 0 {
			start := len(data)
			data = append(data, e.Data...)
			e.Data = data[start:len(data):len(data)]
		} else {
			e.Data = nil
		}
		l.cache.put(e)
	}
	return nil
}

// ApplySnapshot durably records meta as the latest snapshot. If the log
// holds meta.Index at meta.Term the entries after it are kept, otherwise
// the whole log is discarded. Whole segments left without live entries
// are deleted.
func (l *Log) ApplySnapshot(meta raft.SnapshotMeta) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.failedErr(); err != nil {
		return err
	}
	if meta.Index <= l.snap.Index {
		return fmt.Errorf("wal: apply snapshot %d (have %d): %w", meta.Index, l.snap.Index, raft.ErrSnapshotOutOfDate)
	}
	action := snapDiscardLog
	if l.idx.has(meta.Index) && l.idx.term(meta.Index) == meta.Term {
		action = snapKeepSuffix
	}
	b := batch{}
	b.add(recSnapshot, encodeSnapshot(action, meta))
	if err := l.writeBatch(&b); err != nil {
		return err
	}
	l.mu.Lock()
	l.snap = meta
	if action == snapKeepSuffix {
		l.mustIndex(l.idx.compact(meta.Index, meta.Term))
	} else {
		l.idx.reset(meta.Index, meta.Term)
	}
	l.cache.dropOutside(l.idx.first, l.idx.lastIndex())
	l.mu.Unlock()
	return l.removeDeadSegments()
}

// RecordSnapshot durably records meta, a snapshot taken locally of entries
// this log holds, without discarding any entry: the driver then calls
// Compact with a lower index to keep trailing entries for slow followers
// (like Consul's raft_trailing_logs).
func (l *Log) RecordSnapshot(meta raft.SnapshotMeta) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.failedErr(); err != nil {
		return err
	}
	if meta.Index <= l.snap.Index {
		return fmt.Errorf("wal: record snapshot %d (have %d): %w", meta.Index, l.snap.Index, raft.ErrSnapshotOutOfDate)
	}
	if !l.idx.has(meta.Index) || l.idx.term(meta.Index) != meta.Term {
		return fmt.Errorf("wal: record snapshot %d/%d: the log does not hold that entry", meta.Index, meta.Term)
	}
	b := batch{}
	b.add(recSnapshot, encodeSnapshot(snapNote, meta))
	if err := l.writeBatch(&b); err != nil {
		return err
	}
	l.mu.Lock()
	l.snap = meta
	l.mu.Unlock()
	return nil
}

// Compact discards entries with index <= i, which must not exceed
// Snapshot().Index. Whole segments left without live entries are deleted.
func (l *Log) Compact(i raft.Index) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.failedErr(); err != nil {
		return err
	}
	if i > l.snap.Index {
		panic(fmt.Sprintf("wal: Compact(%d) beyond snapshot index %d", i, l.snap.Index))
	}
	if i < l.idx.first {
		return nil // already compacted
	}
	b := batch{}
	b.add(recCompact, encodeIndexTerm(i, l.idx.term(i)))
	if err := l.writeBatch(&b); err != nil {
		return err
	}
	l.mu.Lock()
	l.mustIndex(l.idx.compact(i, l.idx.term(i)))
	l.cache.dropOutside(l.idx.first, l.idx.lastIndex())
	l.mu.Unlock()
	return l.removeDeadSegments()
}

// writeBatch frames b, ends it with a commit marker and makes it durable:
// one fsync. When the active segment is full (or there is none) the batch
// goes to a new segment, preceded by a header and a restatement of the
// state (base compact point, snapshot, hard state) so that the segment
// remains readable after every older one is deleted, then zero-filled to
// SegmentBytes (see zeroFill); the new file's directory entry is fsynced
// too. Otherwise the batch overwrites the active segment's zeros at its
// end. Called with wmu held.
func (l *Log) writeBatch(b *batch) error {
	var active *segment
	if len(l.segs) > 0 {
		active = l.segs[len(l.segs)-1]
	}
	cut := active == nil || active.size >= l.cfg.SegmentBytes
	start := int64(0)
	if cut {
		seg := &segment{seq: l.nextSeq, firstIndex: l.idx.lastIndex() + 1}
		seg.path = filepath.Join(l.dir, segmentName(seg.seq, seg.firstIndex))
		head := batch{}
		head.add(recSegmentHeader, segmentHeader{seq: seg.seq, firstIndex: seg.firstIndex}.encode())
		head.add(recCompact, encodeIndexTerm(l.idx.first-1, l.idx.prevTerm))
		if !l.snap.IsEmpty() {
			head.add(recSnapshot, encodeSnapshot(snapNote, l.snap))
		}
		if !l.hs.IsEmpty() {
			head.add(recHardState, encodeHardState(l.hs))
		}
		b.recs = append(head.recs, b.recs...)
		active = seg
	} else {
		start = active.size
	}

	buf := l.buf[:0]
	for k := range b.recs {
		b.recs[k].off = start + int64(len(buf))
		buf = appendRecord(buf, b.recs[k].t, b.recs[k].payload)
	}
	commit := commitMarker{batchStart: start, records: uint32(len(b.recs)), crc: crc32.Checksum(buf, castagnoli)}
	buf = appendRecord(buf, recCommit, commit.encode())
	l.buf = buf

	if cut {
		f, ok, err := l.takePrepared(active.path)
		switch {
		case err != nil:
			return l.fail(err)
		case ok:
			active.f = f
			if _, err := f.WriteAt(buf, 0); err != nil {
				return l.fail(fmt.Errorf("write %s at %d: %w", active.path, start, err))
			}
		default:
			if f, err = l.fs.Create(active.path); err != nil {
				return l.fail(fmt.Errorf("create segment %s: %w", active.path, err))
			}
			active.f = f
			if _, err := f.Write(buf); err != nil {
				return l.fail(fmt.Errorf("write %s at %d: %w", active.path, start, err))
			}
			if err := zeroFill(f, int64(len(buf)), l.cfg.SegmentBytes); err != nil {
				return l.fail(fmt.Errorf("preallocate %s: %w", active.path, err))
			}
		}
	} else if _, err := active.f.WriteAt(buf, start); err != nil {
		// Overwrites zeros written when the segment was created (or, past
		// SegmentBytes or in a version 1 segment, extends the file).
		return l.fail(fmt.Errorf("write %s at %d: %w", active.path, start, err))
	}
	if err := active.f.Sync(); err != nil {
		return l.fail(fmt.Errorf("sync %s: %w", active.path, err))
	}
	if cut {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("sync dir %s: %w", l.dir, err))
		}
		l.nextSeq++
		l.mu.Lock()
		l.segs = append(l.segs, active)
		l.mu.Unlock()
	}
	active.size = start + int64(len(buf))
	l.maybePrepare(active)
	return nil
}

// zeroChunk is the unit zeroFill writes; never modified.
var zeroChunk = make([]byte, 1<<20)

// zeroFill writes zeros to f from off up to size (nothing when off >=
// size). A new segment is zero-filled by real writes, made durable with
// its first batch, so that later batches overwrite allocated, written
// blocks and their fdatasync needs no filesystem-journal commit (blocks
// reserved by fallocate alone are "unwritten" extents whose conversion on
// first write still journals). Recovery reads zeros after the last commit
// marker as the end of the log.
func zeroFill(f vfs.File, off, size int64) error {
	for off < size {
		n := min(size-off, int64(len(zeroChunk)))
		if _, err := f.Write(zeroChunk[:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// removeDeadSegments deletes, oldest first, the segments before the one
// holding the first live entry (all but the active one if the log is
// empty). The directory is fsynced after each removal so that the
// surviving segments are always a suffix of the sequence.
func (l *Log) removeDeadSegments() error {
	keepFrom := len(l.segs) - 1
	if len(l.idx.locs) > 0 {
		for k, s := range l.segs {
			if s == l.idx.locs[0].seg {
				keepFrom = k
				break
			}
		}
	}
	if keepFrom == 0 {
		return nil
	}
	l.mu.Lock()
	dead := append([]*segment(nil), l.segs[:keepFrom]...)
	l.segs = append([]*segment(nil), l.segs[keepFrom:]...)
	l.mu.Unlock()
	for _, s := range dead {
		s.f.Close()
		if err := l.fs.Remove(s.path); err != nil {
			return l.fail(fmt.Errorf("remove %s: %w", s.path, err))
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("sync dir %s: %w", l.dir, err))
		}
	}
	return nil
}

// fail marks the log failed with err; every later call returns the result.
func (l *Log) fail(err error) error {
	ferr := fmt.Errorf("%w: %w", ErrFailed, err)
	l.mu.Lock()
	l.failed = ferr
	l.mu.Unlock()
	return ferr
}

func (l *Log) failedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// mustIndex panics on an index update that cannot fail unless the Log's
// own bookkeeping is broken (the caller validated the arguments).
func (l *Log) mustIndex(err error) {
	if err != nil {
		panic(fmt.Sprintf("wal: index out of step: %v", err))
	}
}
