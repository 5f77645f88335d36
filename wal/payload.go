package wal

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/agentd/agentd/raft"
)

// Payload encodings, all little-endian. Decoders check every length
// against the bytes present and return errBadFormat, never panic.

const (
	segmentMagic = 0x4c415741 // "AWAL"
	// segmentVersion 2: the segment is zero-filled to Config.SegmentBytes
	// when created, and zeros after the last commit marker are the end of
	// the log. Version 1 segments (never zero-filled) read the same way.
	segmentVersion    = 2
	minSegmentVersion = 1
)

// segmentHeader is the first record of every segment.
type segmentHeader struct {
	seq        uint64     // unique, increasing segment sequence number
	firstIndex raft.Index // index the segment's first entry would have
}

func (h segmentHeader) encode() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:], segmentMagic)
	binary.LittleEndian.PutUint32(b[4:], segmentVersion)
	binary.LittleEndian.PutUint64(b[8:], h.seq)
	binary.LittleEndian.PutUint64(b[16:], uint64(h.firstIndex))
	return b
}

func decodeSegmentHeader(b []byte) (segmentHeader, error) {
	if len(b) != 24 || binary.LittleEndian.Uint32(b[0:]) != segmentMagic {
		return segmentHeader{}, fmt.Errorf("%w: segment header", errBadFormat)
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v < minSegmentVersion || v > segmentVersion {
		return segmentHeader{}, fmt.Errorf("%w: segment version %d", errBadFormat, v)
	}
	return segmentHeader{
		seq:        binary.LittleEndian.Uint64(b[8:]),
		firstIndex: raft.Index(binary.LittleEndian.Uint64(b[16:])),
	}, nil
}

// entry: index u64 | term u64 | type u8 | data.
const entryFixedLen = 17

func appendEntryPayload(b []byte, e *raft.Entry) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Index))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Term))
	b = append(b, byte(e.Type))
	return append(b, e.Data...)
}

func decodeEntry(b []byte) (raft.Entry, error) {
	if len(b) < entryFixedLen {
		return raft.Entry{}, fmt.Errorf("%w: entry of %d bytes", errBadFormat, len(b))
	}
	e := raft.Entry{
		Index: raft.Index(binary.LittleEndian.Uint64(b[0:])),
		Term:  raft.Term(binary.LittleEndian.Uint64(b[8:])),
		Type:  raft.EntryType(b[16]),
	}
	if len(b) > entryFixedLen {
		e.Data = append([]byte(nil), b[entryFixedLen:]...)
	}
	return e, nil
}

// hard state: term u64 | commit u64 | vote (rest).
func encodeHardState(hs raft.HardState) []byte {
	b := make([]byte, 16, 16+len(hs.Vote))
	binary.LittleEndian.PutUint64(b[0:], uint64(hs.Term))
	binary.LittleEndian.PutUint64(b[8:], uint64(hs.Commit))
	return append(b, hs.Vote...)
}

func decodeHardState(b []byte) (raft.HardState, error) {
	if len(b) < 16 {
		return raft.HardState{}, fmt.Errorf("%w: hard state of %d bytes", errBadFormat, len(b))
	}
	return raft.HardState{
		Term:   raft.Term(binary.LittleEndian.Uint64(b[0:])),
		Commit: raft.Index(binary.LittleEndian.Uint64(b[8:])),
		Vote:   raft.NodeID(b[16:]),
	}, nil
}

// snapAction records what a snapshot record did to the log, so that replay
// reaches the same result even when the entries it looked at are gone.
//
// Values are persisted: only append.
type snapAction uint8

const (
	// snapNote only records the metadata (segment headers restate it).
	snapNote snapAction = 1
	// snapKeepSuffix discarded entries up to meta.Index and kept the rest
	// (the log held meta.Index at meta.Term).
	snapKeepSuffix snapAction = 2
	// snapDiscardLog discarded the whole log.
	snapDiscardLog snapAction = 3
)

// snapshot: action u8 | meta (see appendMeta).
func encodeSnapshot(a snapAction, m raft.SnapshotMeta) []byte {
	return appendMeta([]byte{byte(a)}, m)
}

func decodeSnapshot(b []byte) (snapAction, raft.SnapshotMeta, error) {
	if len(b) < 1 {
		return 0, raft.SnapshotMeta{}, fmt.Errorf("%w: empty snapshot record", errBadFormat)
	}
	a := snapAction(b[0])
	if a < snapNote || a > snapDiscardLog {
		return 0, raft.SnapshotMeta{}, fmt.Errorf("%w: snapshot action %d", errBadFormat, a)
	}
	m, err := decodeMeta(b[1:])
	return a, m, err
}

// meta: index u64 | term u64 | configIndex u64 | nservers u32 |
// nservers × (suffrage u8 | idLen u16 | id | addrLen u16 | addr).
func appendMeta(b []byte, m raft.SnapshotMeta) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Index))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Term))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.ConfigIndex))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Configuration.Servers)))
	for _, s := range m.Configuration.Servers {
		if len(s.ID) > math.MaxUint16 || len(s.Address) > math.MaxUint16 {
			panic(fmt.Sprintf("wal: server %q address %q too long to encode", s.ID, s.Address))
		}
		b = append(b, byte(s.Suffrage))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(s.ID)))
		b = append(b, s.ID...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(s.Address)))
		b = append(b, s.Address...)
	}
	return b
}

func decodeMeta(b []byte) (raft.SnapshotMeta, error) {
	bad := func(what string) (raft.SnapshotMeta, error) {
		return raft.SnapshotMeta{}, fmt.Errorf("%w: snapshot meta: %s", errBadFormat, what)
	}
	if len(b) < 28 {
		return bad("short")
	}
	m := raft.SnapshotMeta{
		Index:       raft.Index(binary.LittleEndian.Uint64(b[0:])),
		Term:        raft.Term(binary.LittleEndian.Uint64(b[8:])),
		ConfigIndex: raft.Index(binary.LittleEndian.Uint64(b[16:])),
	}
	n := binary.LittleEndian.Uint32(b[24:])
	b = b[28:]
	// Each server takes at least 5 bytes: bound n before allocating.
	if uint64(n)*5 > uint64(len(b)) {
		return bad("server count exceeds the data")
	}
	if n > 0 {
		m.Configuration.Servers = make([]raft.Server, 0, n)
	}
	str := func() (string, bool) {
		if len(b) < 2 {
			return "", false
		}
		l := int(binary.LittleEndian.Uint16(b))
		if len(b) < 2+l {
			return "", false
		}
		s := string(b[2 : 2+l])
		b = b[2+l:]
		return s, true
	}
	for range n {
		if len(b) < 1 {
			return bad("short server")
		}
		s := raft.Server{Suffrage: raft.Suffrage(b[0])}
		b = b[1:]
		id, ok1 := str()
		addr, ok2 := str()
		if !ok1 || !ok2 {
			return bad("short server")
		}
		s.ID, s.Address = raft.NodeID(id), addr
		m.Configuration.Servers = append(m.Configuration.Servers, s)
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return m, nil
}

// truncate / compact: index u64 | term u64 (term unused by truncate).
func encodeIndexTerm(i raft.Index, t raft.Term) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b[0:], uint64(i))
	binary.LittleEndian.PutUint64(b[8:], uint64(t))
	return b
}

func decodeIndexTerm(b []byte) (raft.Index, raft.Term, error) {
	if len(b) != 16 {
		return 0, 0, fmt.Errorf("%w: index/term record of %d bytes", errBadFormat, len(b))
	}
	return raft.Index(binary.LittleEndian.Uint64(b[0:])), raft.Term(binary.LittleEndian.Uint64(b[8:])), nil
}

// commit: batchStart u64 | records u32 | batchCRC u32.
type commitMarker struct {
	batchStart int64  // segment offset of the batch's first record
	records    uint32 // records in the batch, not counting the commit
	crc        uint32 // CRC32C of the bytes [batchStart, commit offset)
}

const commitPayloadLen = 16

func (c commitMarker) encode() []byte {
	b := make([]byte, commitPayloadLen)
	binary.LittleEndian.PutUint64(b[0:], uint64(c.batchStart))
	binary.LittleEndian.PutUint32(b[8:], c.records)
	binary.LittleEndian.PutUint32(b[12:], c.crc)
	return b
}

func decodeCommit(b []byte) (commitMarker, error) {
	if len(b) != commitPayloadLen {
		return commitMarker{}, fmt.Errorf("%w: commit of %d bytes", errBadFormat, len(b))
	}
	start := binary.LittleEndian.Uint64(b[0:])
	if start > math.MaxInt64 {
		return commitMarker{}, fmt.Errorf("%w: commit batch start %d", errBadFormat, start)
	}
	return commitMarker{
		batchStart: int64(start),
		records:    binary.LittleEndian.Uint32(b[8:]),
		crc:        binary.LittleEndian.Uint32(b[12:]),
	}, nil
}
