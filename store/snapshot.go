package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Snapshot format, version 1 (the FSM snapshot file, and the /v1/snapshot
// body):
//
//	+----------------+---------+-----------------------------------------+
//	| magic "AGSTORE"| version | applied uvarint | n uvarint | n * table   |
//	|  7 bytes       | 1 byte  |                             index uvarint|
//	+----------------+---------+-----------------------------------------+
//	| record: kind byte | len uvarint | payload (a row, rows.go) |  repeated
//	| kind 0 (end)                                               |
//	| CRC-32C of every byte above, 4 bytes big-endian            |
//	+------------------------------------------------------------+
//
// Kinds are append-only (see recordKind). Rows appear in key order per
// table, tables in kind order, so equal states give equal bytes (Hash).
// Derived indexes (sessions by node, keys by session) are not written;
// restore rebuilds them.

const (
	snapshotMagic   = "AGSTORE"
	snapshotVersion = 1
	// maxRecordLen bounds one record's payload: a KV value plus its row.
	maxRecordLen = maxValueLen + 4*maxStringLen
)

// recordKind tags a snapshot record. Persisted: only append.
type recordKind byte

const (
	recEnd       recordKind = 0
	recKV        recordKind = 1
	recTombstone recordKind = 2
	recLockDelay recordKind = 3
	recSession   recordKind = 4
	recNode      recordKind = 5
	recService   recordKind = 6
	recCheck     recordKind = 7
	// recRestoreChunk: part of a staged restore (restore.go): id | bytes.
	// A stage larger than one record spans several, in order.
	recRestoreChunk recordKind = 8
	recCAConfig     recordKind = 9  // the CA configuration (ca.go)
	recCARoot       recordKind = 10 // one CA root, private key included, in ID order
	recAutopilot    recordKind = 11 // the autopilot configuration (autopilot.go)
	recKindsKnown              = recAutopilot
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot is a frozen version of the state; writing it never blocks or
// sees Apply.
type Snapshot struct{ t *tables }

// Snapshot returns the current version. Cheap: the version is immutable.
func (s *Store) Snapshot() *Snapshot { return &Snapshot{t: s.state.Load()} }

// Index is the applied index the snapshot captures.
func (sn *Snapshot) Index() uint64 { return sn.t.applied }

// WriteTo streams the snapshot to w (io.WriterTo).
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	sw := &snapWriter{bw: bufio.NewWriterSize(w, 64<<10), h: crc32.New(castagnoli)}
	t := sn.t
	var e encoder
	e.b = append(e.b, snapshotMagic...)
	e.byte1(snapshotVersion)
	e.uvarint(t.applied)
	e.uvarint(uint64(numTables))
	for _, i := range t.index {
		e.uvarint(i)
	}
	sw.write(e.b)
	rec := func(kind recordKind, fill func(*encoder)) bool {
		e.b = e.b[:0]
		fill(&e)
		var hdr [1 + binary.MaxVarintLen64]byte
		hdr[0] = byte(kind)
		n := binary.PutUvarint(hdr[1:], uint64(len(e.b)))
		sw.write(hdr[:1+n])
		sw.write(e.b)
		return sw.err == nil
	}
	t.kv.Scan(func(v *KVEntry) bool { return rec(recKV, func(e *encoder) { e.kvEntry(v) }) })
	t.tombstones.Scan(func(v tombstone) bool {
		return rec(recTombstone, func(e *encoder) { e.str(v.Key); e.uvarint(v.Index) })
	})
	t.lockDelays.Scan(func(v lockDelay) bool {
		return rec(recLockDelay, func(e *encoder) { e.str(v.Key); e.time(v.Until) })
	})
	t.sessions.Scan(func(v *Session) bool { return rec(recSession, func(e *encoder) { e.session(v) }) })
	t.nodes.Scan(func(v *Node) bool { return rec(recNode, func(e *encoder) { e.node(v) }) })
	t.services.Scan(func(v *Service) bool { return rec(recService, func(e *encoder) { e.service(v) }) })
	t.checks.Scan(func(v *Check) bool { return rec(recCheck, func(e *encoder) { e.check(v) }) })
	t.restore.records(rec)
	t.caRecords(rec)
	t.autopilotRecords(rec)
	sw.write([]byte{byte(recEnd)})
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], sw.h.Sum32())
	sw.h = nil
	sw.write(sum[:])
	if sw.err == nil {
		sw.err = sw.bw.Flush()
	}
	if sw.err != nil {
		return sw.n, fmt.Errorf("store: write snapshot: %w", sw.err)
	}
	return sw.n, nil
}

type snapWriter struct {
	bw  *bufio.Writer
	h   hash.Hash32 // nil once the trailer is being written
	n   int64
	err error
}

func (w *snapWriter) write(p []byte) {
	if w.err != nil {
		return
	}
	if w.h != nil {
		w.h.Write(p)
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	w.err = err
}

// Hash is a digest of the whole state, applied index included: replicas
// at the same applied index have equal hashes.
func (s *Store) Hash() [32]byte {
	h := sha256.New()
	if _, err := s.Snapshot().WriteTo(h); err != nil {
		panic(fmt.Sprintf("store: hashing cannot fail: %v", err))
	}
	return [32]byte(h.Sum(nil))
}

// Restore replaces the state with the snapshot read from r (verifying its
// checksum before anything changes) and fires every watch. The applied
// index becomes the snapshot's.
func (s *Store) Restore(r io.Reader) error {
	t, err := readSnapshot(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Store(t)
	s.watches.fireAll()
	return nil
}

// restoreState is the RestoreState command: the snapshot's state with every
// index moved to this command's index, so no index a client saw goes
// backwards.
func (x *tx) restoreState(data []byte) error {
	src, err := readSnapshot(bytes.NewReader(data))
	if err != nil {
		return rejected("restore: %v", err)
	}
	t := newTables()
	idx := x.index
	src.kv.Scan(func(v *KVEntry) bool {
		cp := *v
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.kv.Set(&cp)
		if cp.Session != "" {
			t.sessionKeys.Set(pair{cp.Session, cp.Key})
		}
		return true
	})
	src.tombstones.Scan(func(v tombstone) bool { t.tombstones.Set(tombstone{v.Key, idx}); return true })
	t.lockDelays = src.lockDelays
	src.sessions.Scan(func(v *Session) bool {
		cp := *v
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.sessions.Set(&cp)
		t.sessionsByNode.Set(pair{cp.Node, cp.ID})
		return true
	})
	src.nodes.Scan(func(v *Node) bool {
		cp := *v
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.nodes.Set(&cp)
		return true
	})
	src.services.Scan(func(v *Service) bool {
		cp := *v
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.services.Set(&cp)
		return true
	})
	src.checks.Scan(func(v *Check) bool {
		cp := *v
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.checks.Set(&cp)
		return true
	})
	t.restoreCA(src, idx)
	t.restoreAutopilot(src, idx)
	for i := range t.index {
		t.index[i] = idx
	}
	x.t = t
	x.copied = ^uint16(0) // fresh private trees: nothing to copy
	x.fireAll = true
	return nil
}

// readSnapshot parses a whole snapshot into fresh tables. Errors wrap
// ErrDecode; it never panics on bad input.
func readSnapshot(r io.Reader) (*tables, error) {
	sr := &snapReader{br: bufio.NewReaderSize(r, 64<<10), h: crc32.New(castagnoli)}
	t, err := sr.read()
	if err != nil {
		return nil, fmt.Errorf("store: read snapshot: %w", err)
	}
	return t, nil
}

type snapReader struct {
	br  *bufio.Reader
	h   hash.Hash32
	buf []byte
}

func (r *snapReader) ReadByte() (byte, error) {
	b, err := r.br.ReadByte()
	if err == nil {
		r.h.Write([]byte{b})
	}
	return b, err
}

func (r *snapReader) full(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return nil, err
	}
	r.h.Write(p)
	return p, nil
}

func (r *snapReader) uvarint() (uint64, error) { return binary.ReadUvarint(r) }

func decodeErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", ErrDecode, err)
}

func (r *snapReader) read() (*tables, error) {
	head, err := r.full(len(snapshotMagic) + 1)
	if err != nil {
		return nil, decodeErr(err)
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic || head[len(snapshotMagic)] != snapshotVersion {
		return nil, fmt.Errorf("%w: not a version %d store snapshot", ErrDecode, snapshotVersion)
	}
	t := newTables()
	if t.applied, err = r.uvarint(); err != nil {
		return nil, decodeErr(err)
	}
	n, err := r.uvarint()
	if err != nil {
		return nil, decodeErr(err)
	}
	if n > uint64(numTables) {
		return nil, fmt.Errorf("%w: %d table indexes, know %d", ErrDecode, n, numTables)
	}
	for i := range n {
		if t.index[i], err = r.uvarint(); err != nil {
			return nil, decodeErr(err)
		}
	}
	for {
		kind, err := r.ReadByte()
		if err != nil {
			return nil, decodeErr(err)
		}
		if recordKind(kind) == recEnd {
			break
		}
		if recordKind(kind) > recKindsKnown {
			return nil, fmt.Errorf("%w: unknown record kind %d", ErrDecode, kind)
		}
		size, err := r.uvarint()
		if err != nil {
			return nil, decodeErr(err)
		}
		if size > maxRecordLen {
			return nil, fmt.Errorf("%w: record of %d bytes", ErrDecode, size)
		}
		p, err := r.full(int(size))
		if err != nil {
			return nil, decodeErr(err)
		}
		if err := t.load(recordKind(kind), p); err != nil {
			return nil, err
		}
	}
	want := r.h.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(r.br, sum[:]); err != nil {
		return nil, decodeErr(err)
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, computed %08x", ErrDecode, got, want)
	}
	if _, err := r.br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: bytes after the checksum", ErrDecode)
	}
	return t, nil
}

// load inserts one record's row; duplicate keys are corruption.
func (t *tables) load(kind recordKind, p []byte) error {
	d := &decoder{b: p}
	var dup bool
	switch kind {
	case recKV:
		v := d.kvEntry()
		if d.err == nil {
			_, dup = t.kv.Set(v)
			if v.Session != "" {
				t.sessionKeys.Set(pair{v.Session, v.Key})
			}
		}
	case recTombstone:
		v := tombstone{Key: d.str(), Index: d.uvarint()}
		if d.err == nil {
			_, dup = t.tombstones.Set(v)
		}
	case recLockDelay:
		v := lockDelay{Key: d.str(), Until: d.time()}
		if d.err == nil {
			_, dup = t.lockDelays.Set(v)
		}
	case recSession:
		v := d.session()
		if d.err == nil {
			_, dup = t.sessions.Set(v)
			t.sessionsByNode.Set(pair{v.Node, v.ID})
		}
	case recNode:
		v := d.node()
		if d.err == nil {
			_, dup = t.nodes.Set(v)
		}
	case recService:
		v := d.service()
		if d.err == nil {
			_, dup = t.services.Set(v)
		}
	case recCheck:
		v := d.check()
		if d.err == nil {
			_, dup = t.checks.Set(v)
		}
	case recRestoreChunk:
		t.loadStageRecord(d)
	case recCAConfig, recCARoot:
		dup = t.loadCARecord(kind, d)
	case recAutopilot:
		dup = t.loadAutopilotRecord(d)
	}
	d.done()
	if d.err != nil {
		return fmt.Errorf("record kind %d: %w", kind, d.err)
	}
	if dup {
		return fmt.Errorf("%w: duplicate record of kind %d", ErrDecode, kind)
	}
	return nil
}
