package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// recordType says how a record's payload is interpreted.
//
// Values are persisted: only append.
type recordType uint8

const (
	// recSegmentHeader opens every segment: magic, version, seq, first index.
	recSegmentHeader recordType = 1
	// recEntry is one raft.Entry.
	recEntry recordType = 2
	// recHardState is a raft.HardState.
	recHardState recordType = 3
	// recSnapshot records snapshot metadata and what it did to the log.
	recSnapshot recordType = 4
	// recTruncate discards entries after an index (suffix truncation).
	recTruncate recordType = 5
	// recCompact discards entries up to an index (prefix truncation) and
	// remembers that entry's term.
	recCompact recordType = 6
	// recCommit ends every batch and carries the batch's checksum.
	recCommit       recordType = 7
	recTypeSentinel recordType = 8
)

func (t recordType) String() string {
	switch t {
	case recSegmentHeader:
		return "SegmentHeader"
	case recEntry:
		return "Entry"
	case recHardState:
		return "HardState"
	case recSnapshot:
		return "Snapshot"
	case recTruncate:
		return "Truncate"
	case recCompact:
		return "Compact"
	case recCommit:
		return "Commit"
	}
	return fmt.Sprintf("recordType(%d)", uint8(t))
}

const (
	// headerLen is the fixed record header: length, type, CRC, reserved.
	headerLen = 16
	// align is the record alignment: a header never straddles a 512-byte
	// sector, so its length field is never torn.
	align = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode errors. They say what is wrong with the bytes at an offset;
// recovery decides whether that is a torn tail or corruption.
var (
	errShort     = errors.New("record extends past the end of the data")
	errTooLong   = errors.New("record length over the maximum")
	errBadType   = errors.New("unknown record type")
	errBadCRC    = errors.New("record checksum mismatch")
	errBadFormat = errors.New("malformed record")
)

// padded returns n rounded up to the record alignment.
func padded(n int) int { return (n + align - 1) &^ (align - 1) }

// appendRecord appends one framed record to b.
func appendRecord(b []byte, t recordType, payload []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerLen+padded(len(payload)))...)
	h := b[start:]
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	h[4] = byte(t)
	copy(h[headerLen:], payload)
	crc := crc32.Update(crc32.Checksum(h[0:8], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(h[8:12], crc)
	return b
}

// decodeRecord decodes the record at the start of b. It returns the type,
// the payload (aliasing b) and the record's total length including padding.
// maxPayload bounds the length field before anything is trusted or
// allocated. It never panics, whatever b holds.
func decodeRecord(b []byte, maxPayload uint32) (recordType, []byte, int, error) {
	// The length is checked first, even on a short buffer: an absurd
	// length is reported as such whatever follows it.
	if len(b) >= 4 {
		if n := binary.LittleEndian.Uint32(b[0:4]); n > maxPayload {
			return 0, nil, 0, fmt.Errorf("%w: %d > %d", errTooLong, n, maxPayload)
		}
	}
	if len(b) < headerLen {
		return 0, nil, 0, errShort
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	t := recordType(b[4])
	if t == 0 || t >= recTypeSentinel {
		return 0, nil, 0, fmt.Errorf("%w: %d", errBadType, b[4])
	}
	if b[5]|b[6]|b[7] != 0 || binary.LittleEndian.Uint32(b[12:16]) != 0 {
		return 0, nil, 0, fmt.Errorf("%w: reserved header bytes set", errBadFormat)
	}
	total := headerLen + padded(int(n))
	if len(b) < total {
		return 0, nil, 0, errShort
	}
	payload := b[headerLen : headerLen+int(n)]
	crc := crc32.Update(crc32.Checksum(b[0:8], castagnoli), castagnoli, payload)
	if crc != binary.LittleEndian.Uint32(b[8:12]) {
		return 0, nil, 0, errBadCRC
	}
	for _, c := range b[headerLen+int(n) : total] {
		if c != 0 {
			return 0, nil, 0, fmt.Errorf("%w: padding not zero", errBadFormat)
		}
	}
	return t, payload, total, nil
}
