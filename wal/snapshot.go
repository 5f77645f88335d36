package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// Snapshot file format ("%016x-%016x.snap": index, term), little-endian:
//
//	 0        4         8         12        16
//	+--------+---------+---------+---------+----------------+
//	| magic  | version | metaLen | metaCRC | meta (metaLen) |  header
//	| "ASNP" |   u32   |   u32   | CRC32C  | see appendMeta |
//	+--------+---------+---------+---------+----------------+
//	| body: the state machine's bytes, any length           |
//	+--------+---------+---------+--------------------------+
//	| bodyLen u64      | bodyCRC | magic   |                   footer (16 B)
//	+------------------+---------+---------+
//
// A snapshot is written to "<name>.tmp", fsynced, renamed into place and
// the directory fsynced: a file under its final name is always complete.

const (
	snapMagic      = 0x504e5341 // "ASNP"
	snapVersion    = 1
	snapHeaderLen  = 16
	snapFooterLen  = 16
	maxSnapMetaLen = 16 << 20 // bound on the metadata read from disk
	snapSuffix     = ".snap"
	tmpSuffix      = ".tmp"
)

// ErrNoSnapshot is returned by Latest and Open when there is no such
// snapshot file.
var ErrNoSnapshot = errors.New("wal: no snapshot")

// SnapshotStore keeps snapshot files in one directory, the newest Retain
// of them.
type SnapshotStore struct {
	fs     vfs.FS
	dir    string
	retain int
	mu     sync.Mutex // serialises Close's rename and pruning
}

// OpenSnapshotStore opens (creating) dir, keeping the newest retain (>= 1)
// snapshots. Leftover temporary files of interrupted writes are removed.
func OpenSnapshotStore(fsys vfs.FS, dir string, retain int) (*SnapshotStore, error) {
	if retain < 1 {
		return nil, errors.New("wal: snapshot retain must be at least 1")
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", dir, err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, snapSuffix+tmpSuffix) {
			if err := fsys.Remove(filepath.Join(dir, n)); err != nil {
				return nil, fmt.Errorf("wal: remove %s: %w", n, err)
			}
		}
	}
	if err := fsys.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("wal: sync dir %s: %w", dir, err)
	}
	return &SnapshotStore{fs: fsys, dir: dir, retain: retain}, nil
}

func snapName(m raft.SnapshotMeta) string {
	return fmt.Sprintf("%016x-%016x%s", uint64(m.Index), uint64(m.Term), snapSuffix)
}

// list returns the snapshot file names, oldest (lowest index) first.
func (s *SnapshotStore) list() ([]string, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", s.dir, err)
	}
	var out []string
	for _, n := range names {
		var i, t uint64
		if len(n) == 33+len(snapSuffix) && strings.HasSuffix(n, snapSuffix) {
			if k, err := fmt.Sscanf(n, "%016x-%016x.snap", &i, &t); k == 2 && err == nil {
				out = append(out, n)
			}
		}
	}
	return out, nil // ReadDir sorts, and %016x sorts like the number
}

// Sink receives one snapshot's body.
type Sink struct {
	s      *SnapshotStore
	meta   raft.SnapshotMeta
	f      vfs.File
	tmp    string
	crc    hash.Hash32
	n      uint64
	err    error // sticky: the first failure
	closed bool
}

// Create starts writing a snapshot for meta.
func (s *SnapshotStore) Create(meta raft.SnapshotMeta) (*Sink, error) {
	tmp := filepath.Join(s.dir, snapName(meta)+tmpSuffix)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", tmp, err)
	}
	m := appendMeta(nil, meta)
	h := make([]byte, snapHeaderLen, snapHeaderLen+len(m))
	binary.LittleEndian.PutUint32(h[0:], snapMagic)
	binary.LittleEndian.PutUint32(h[4:], snapVersion)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(m)))
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(m, castagnoli))
	sk := &Sink{s: s, meta: meta, f: f, tmp: tmp, crc: crc32.New(castagnoli)}
	if _, err := f.Write(append(h, m...)); err != nil {
		sk.Cancel()
		return nil, fmt.Errorf("wal: write %s: %w", tmp, err)
	}
	return sk, nil
}

// Write appends body bytes.
func (k *Sink) Write(p []byte) (int, error) {
	if k.err != nil {
		return 0, k.err
	}
	n, err := k.f.Write(p)
	k.crc.Write(p[:n])
	k.n += uint64(n)
	if err != nil {
		k.err = fmt.Errorf("wal: write %s: %w", k.tmp, err)
		return n, k.err
	}
	return n, nil
}

// Close finishes the snapshot: footer, fsync, rename into place, directory
// fsync, then deletes snapshots beyond the retention count. When it
// returns nil the snapshot is durable. Any error is an I/O failure the
// caller should treat as fatal.
func (k *Sink) Close() error {
	if k.closed {
		return errors.New("wal: snapshot sink already closed")
	}
	if k.err != nil {
		k.Cancel()
		return k.err
	}
	k.closed = true
	var foot [snapFooterLen]byte
	binary.LittleEndian.PutUint64(foot[0:], k.n)
	binary.LittleEndian.PutUint32(foot[8:], k.crc.Sum32())
	binary.LittleEndian.PutUint32(foot[12:], snapMagic)
	if _, err := k.f.Write(foot[:]); err != nil {
		return fmt.Errorf("wal: write %s: %w", k.tmp, err)
	}
	if err := k.f.Sync(); err != nil {
		return fmt.Errorf("wal: sync %s: %w", k.tmp, err)
	}
	if err := k.f.Close(); err != nil {
		return fmt.Errorf("wal: close %s: %w", k.tmp, err)
	}
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	final := filepath.Join(s.dir, snapName(k.meta))
	if err := s.fs.Rename(k.tmp, final); err != nil {
		return fmt.Errorf("wal: rename %s: %w", k.tmp, err)
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("wal: sync dir %s: %w", s.dir, err)
	}
	names, err := s.list()
	if err != nil {
		return err
	}
	for len(names) > s.retain {
		if err := s.fs.Remove(filepath.Join(s.dir, names[0])); err != nil {
			return fmt.Errorf("wal: remove %s: %w", names[0], err)
		}
		if err := s.fs.SyncDir(s.dir); err != nil {
			return fmt.Errorf("wal: sync dir %s: %w", s.dir, err)
		}
		names = names[1:]
	}
	return nil
}

// Cancel abandons the snapshot and removes its temporary file.
func (k *Sink) Cancel() error {
	if k.closed {
		return nil
	}
	k.closed = true
	k.f.Close()
	if err := k.s.fs.Remove(k.tmp); err != nil && !errors.Is(err, vfs.ErrNotExist) {
		return fmt.Errorf("wal: remove %s: %w", k.tmp, err)
	}
	return nil
}

// Latest returns the metadata of the newest snapshot file.
func (s *SnapshotStore) Latest() (raft.SnapshotMeta, error) {
	names, err := s.list()
	if err != nil {
		return raft.SnapshotMeta{}, err
	}
	if len(names) == 0 {
		return raft.SnapshotMeta{}, ErrNoSnapshot
	}
	r, meta, err := s.openFile(names[len(names)-1])
	if err != nil {
		return raft.SnapshotMeta{}, err
	}
	r.Close()
	return meta, nil
}

// Open opens the snapshot for index. The body reader verifies the
// checksum as it reaches the end: a damaged body makes the final Read
// return an error instead of io.EOF, so the caller must read to EOF
// before trusting what it restored.
func (s *SnapshotStore) Open(index raft.Index) (raft.SnapshotMeta, io.ReadCloser, error) {
	names, err := s.list()
	if err != nil {
		return raft.SnapshotMeta{}, nil, err
	}
	prefix := fmt.Sprintf("%016x-", uint64(index))
	for k := len(names) - 1; k >= 0; k-- {
		if strings.HasPrefix(names[k], prefix) {
			r, meta, err := s.openFile(names[k])
			if err != nil {
				return raft.SnapshotMeta{}, nil, err
			}
			return meta, r, nil
		}
	}
	return raft.SnapshotMeta{}, nil, fmt.Errorf("wal: snapshot %d: %w", index, ErrNoSnapshot)
}

// openFile checks the header and footer and returns a reader over the body.
func (s *SnapshotStore) openFile(name string) (*snapReader, raft.SnapshotMeta, error) {
	path := filepath.Join(s.dir, name)
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, raft.SnapshotMeta{}, fmt.Errorf("wal: open %s: %w", path, err)
	}
	meta, body, bodyCRC, err := readSnapHeader(f)
	if err != nil {
		f.Close()
		return nil, raft.SnapshotMeta{}, fmt.Errorf("wal: snapshot %s: %w", path, err)
	}
	return &snapReader{f: f, path: path, r: body, crc: crc32.New(castagnoli), want: bodyCRC}, meta, nil
}

func readSnapHeader(f vfs.File) (raft.SnapshotMeta, *io.SectionReader, uint32, error) {
	size, err := f.Size()
	if err != nil {
		return raft.SnapshotMeta{}, nil, 0, err
	}
	var h [snapHeaderLen]byte
	if size < snapHeaderLen+snapFooterLen {
		return raft.SnapshotMeta{}, nil, 0, errors.New("file too short")
	}
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return raft.SnapshotMeta{}, nil, 0, err
	}
	metaLen := binary.LittleEndian.Uint32(h[8:])
	if binary.LittleEndian.Uint32(h[0:]) != snapMagic || binary.LittleEndian.Uint32(h[4:]) != snapVersion ||
		metaLen > maxSnapMetaLen || int64(metaLen) > size-snapHeaderLen-snapFooterLen {
		return raft.SnapshotMeta{}, nil, 0, errors.New("bad header")
	}
	m := make([]byte, metaLen)
	if _, err := f.ReadAt(m, snapHeaderLen); err != nil {
		return raft.SnapshotMeta{}, nil, 0, err
	}
	if crc32.Checksum(m, castagnoli) != binary.LittleEndian.Uint32(h[12:]) {
		return raft.SnapshotMeta{}, nil, 0, errors.New("metadata checksum mismatch")
	}
	meta, err := decodeMeta(m)
	if err != nil {
		return raft.SnapshotMeta{}, nil, 0, err
	}
	var foot [snapFooterLen]byte
	if _, err := f.ReadAt(foot[:], size-snapFooterLen); err != nil {
		return raft.SnapshotMeta{}, nil, 0, err
	}
	bodyStart := int64(snapHeaderLen + metaLen)
	bodyLen := size - snapFooterLen - bodyStart
	if binary.LittleEndian.Uint32(foot[12:]) != snapMagic || binary.LittleEndian.Uint64(foot[0:]) != uint64(bodyLen) {
		return raft.SnapshotMeta{}, nil, 0, errors.New("bad footer")
	}
	return meta, io.NewSectionReader(f, bodyStart, bodyLen), binary.LittleEndian.Uint32(foot[8:]), nil
}

// snapReader streams a snapshot body and checks its CRC at EOF.
type snapReader struct {
	f    vfs.File
	path string
	r    *io.SectionReader
	crc  hash.Hash32
	want uint32 // the footer's body CRC
}

func (s *snapReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.crc.Write(p[:n])
	if errors.Is(err, io.EOF) && s.crc.Sum32() != s.want {
		return n, fmt.Errorf("wal: snapshot %s: body checksum mismatch", s.path)
	}
	return n, err
}

func (s *snapReader) Close() error { return s.f.Close() }

// ReconcileSnapshot resolves a crash between making a snapshot file
// durable and recording it in the log (or between a newer snapshot's
// rename and the pruning of older ones). The snapshot files are the
// authority once durable: their content is committed state. If the newest
// file is newer than the log's Snapshot(), it is recorded with
// l.ApplySnapshot (keeping the log's suffix when the log holds that entry);
// if the log names a snapshot newer than every file, the store is
// inconsistent and an error is returned. It returns the snapshot the
// state machine must be restored from (empty: none). The driver calls it
// once after opening both, before starting Raft.
func ReconcileSnapshot(l *Log, s *SnapshotStore) (raft.SnapshotMeta, error) {
	logSnap := l.Snapshot()
	latest, err := s.Latest()
	if errors.Is(err, ErrNoSnapshot) {
		if !logSnap.IsEmpty() {
			return raft.SnapshotMeta{}, fmt.Errorf("wal: log records snapshot %d but no snapshot file exists", logSnap.Index)
		}
		return raft.SnapshotMeta{}, nil
	}
	if err != nil {
		return raft.SnapshotMeta{}, err
	}
	switch {
	case latest.Index > logSnap.Index:
		if err := l.ApplySnapshot(latest); err != nil {
			return raft.SnapshotMeta{}, err
		}
		return latest, nil
	case latest.Index < logSnap.Index:
		return raft.SnapshotMeta{}, fmt.Errorf("wal: log records snapshot %d, newest file is %d", logSnap.Index, latest.Index)
	}
	return logSnap, nil
}
