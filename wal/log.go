package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// ErrFailed marks every error after which the Log refuses all further
// work: a write or fsync failed (or the log was closed). The caller must
// stop the process and recover by reopening (see IsFatal).
var ErrFailed = errors.New("wal: failed")

var errClosed = errors.New("closed")

// IsFatal reports whether err means the Log is unusable and the process
// must exit (never retry: a failed fsync may have dropped data that a
// second fsync would wrongly report durable, WAL checklist §2.4 item 7).
func IsFatal(err error) bool { return errors.Is(err, ErrFailed) }

// Log is a segmented write-ahead log implementing raft.LogStore.
//
// Lock order: wmu before mu. Readers take only mu; writers hold wmu for
// the whole operation (disk I/O included) and take mu only to publish a
// change once it is durable, so reads never wait for an fsync.
type Log struct {
	fs  vfs.FS
	dir string
	cfg Config

	// wmu serialises writers. Fields below it are guarded by wmu.
	wmu     sync.Mutex
	nextSeq uint64 // seq of the next segment; > every seq ever listed
	buf     []byte // reused batch buffer
	scratch []byte // reused payload buffer
	// prep is the next segment being zero-filled in the background, nil
	// when none (Config.PrepareSegments).
	prep *prepared

	// mu guards the state readers see. Only writers holding wmu modify
	// idx, hs, snap and segs, so a writer may read them without mu.
	mu     sync.Mutex
	idx    logIndex
	hs     raft.HardState
	snap   raft.SnapshotMeta
	segs   []*segment // ordered by seq; the last one is active (appended to)
	cache  *entryCache
	failed error // non-nil: every call returns it
	closed bool  // Close has run
}

var _ raft.LogStore = (*Log)(nil)

// Open recovers the log in dir (creating dir and a first segment when
// there is none). A torn tail of the final segment is repaired; damage
// anywhere else returns a *CorruptionError and leaves the files untouched.
func Open(fsys vfs.FS, dir string, cfg Config) (*Log, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	if err := removePrepared(fsys, dir); err != nil {
		return nil, err
	}
	found, maxSeq, err := listSegments(fsys, dir)
	if err != nil {
		return nil, err
	}
	r, segs, err := recoverSegments(fsys, dir, cfg, found)
	if err != nil {
		for _, s := range found {
			if s.f != nil {
				s.f.Close()
			}
		}
		return nil, err
	}
	l := &Log{
		fs: fsys, dir: dir, cfg: cfg,
		nextSeq: maxSeq + 1,
		idx:     r.idx, hs: r.hs, snap: r.snap,
		segs:  segs,
		cache: newEntryCache(cfg.CacheBytes),
	}
	if len(segs) == 0 {
		if err := l.writeBatch(&batch{}); err != nil {
			return nil, err
		}
		return l, nil
	}
	// Reopen the active segment for appending.
	active := segs[len(segs)-1]
	active.f.Close()
	if active.f, err = fsys.OpenAppend(active.path); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("wal: open %s: %w", active.path, err)
	}
	return l, nil
}

// Close releases the files. Later calls fail.
func (l *Log) Close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("%w: %w", ErrFailed, errClosed)
	}
	l.closed = true
	l.stopPreparing()
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %w", ErrFailed, errClosed)
	}
	return l.closeFiles()
}

func (l *Log) closeFiles() error {
	var first error
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("wal: close %s: %w", s.path, err)
		}
	}
	return first
}

// InitialState returns the durable hard state and snapshot metadata.
func (l *Log) InitialState() (raft.HardState, raft.SnapshotMeta, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hs, l.snap, l.failed
}

// FirstIndex is the index of the first entry still in the log.
func (l *Log) FirstIndex() raft.Index {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idx.first
}

// LastIndex is the index of the last durable entry.
func (l *Log) LastIndex() raft.Index {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idx.lastIndex()
}

// Snapshot returns the latest durable snapshot's metadata.
func (l *Log) Snapshot() raft.SnapshotMeta {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap
}

// Term returns the term of entry i for i in [FirstIndex()-1, LastIndex()].
func (l *Log) Term(i raft.Index) (raft.Term, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.failed != nil:
		return 0, l.failed
	case i+1 < l.idx.first:
		return 0, raft.ErrCompacted
	case i > l.idx.lastIndex():
		return 0, raft.ErrUnavailable
	}
	return l.idx.term(i), nil
}

// Entries returns entries in [lo, hi), at most maxBytes of them by
// Entry.Size but at least one. Entry data is shared with the cache: callers
// must not modify it.
func (l *Log) Entries(lo, hi raft.Index, maxBytes uint64) ([]raft.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.failed != nil:
		return nil, l.failed
	case lo < l.idx.first:
		return nil, raft.ErrCompacted
	case hi > l.idx.lastIndex()+1:
		return nil, raft.ErrUnavailable
	case lo > hi:
		panic(fmt.Sprintf("wal: Entries(%d, %d): lo > hi", lo, hi))
	}
	var out []raft.Entry
	var size uint64
	for i := lo; i < hi; i++ {
		e, ok := l.cache.get(i)
		if !ok {
			var err error
			if e, err = l.readEntry(i); err != nil {
				return nil, err
			}
		}
		if len(out) > 0 && size+e.Size() > maxBytes {
			break
		}
		size += e.Size()
		out = append(out, e)
	}
	return out, nil
}

// readEntry reads entry i from its segment. Called with mu held.
func (l *Log) readEntry(i raft.Index) (raft.Entry, error) {
	loc := l.idx.locs[i-l.idx.first]
	var h [headerLen]byte
	if _, err := loc.seg.f.ReadAt(h[:], loc.off); err != nil {
		return raft.Entry{}, fmt.Errorf("wal: read entry %d from %s at %d: %w", i, loc.seg.path, loc.off, err)
	}
	n := binary.LittleEndian.Uint32(h[0:4])
	if n > l.cfg.MaxRecordBytes {
		return raft.Entry{}, &CorruptionError{File: loc.seg.path, Offset: loc.off, Err: errTooLong}
	}
	b := make([]byte, headerLen+padded(int(n)))
	if _, err := loc.seg.f.ReadAt(b, loc.off); err != nil {
		return raft.Entry{}, fmt.Errorf("wal: read entry %d from %s at %d: %w", i, loc.seg.path, loc.off, err)
	}
	t, payload, _, err := decodeRecord(b, l.cfg.MaxRecordBytes)
	if err == nil && t != recEntry {
		err = fmt.Errorf("%w: %v record where entry %d should be", errBadFormat, t, i)
	}
	var e raft.Entry
	if err == nil {
		e, err = decodeEntry(payload)
	}
	if err == nil && (e.Index != i || e.Term != loc.term) {
		err = fmt.Errorf("%w: entry %d/%d where %d/%d should be", errBadFormat, e.Index, e.Term, i, loc.term)
	}
	if err != nil {
		return raft.Entry{}, &CorruptionError{File: loc.seg.path, Offset: loc.off, Err: err}
	}
	return e, nil
}
