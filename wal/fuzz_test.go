package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/agentd/agentd/raft"
)

const fuzzMaxPayload = 4096

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder and to the
// segment scanner used by recovery. Neither may panic; a length over the
// maximum is always rejected; a decoded record re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, payload, n, err := decodeRecord(data, fuzzMaxPayload)
		if len(data) >= 4 && binary.LittleEndian.Uint32(data) > fuzzMaxPayload && !errors.Is(err, errTooLong) {
			t.Fatalf("length %d over the maximum accepted: %v", binary.LittleEndian.Uint32(data), err)
		}
		if err == nil {
			if n > len(data) || n%align != 0 || len(payload) > fuzzMaxPayload {
				t.Fatalf("bad result: n=%d len=%d payload=%d", n, len(data), len(payload))
			}
			if re := appendRecord(nil, typ, payload); !bytes.Equal(re, data[:n]) {
				t.Fatalf("re-encoding differs:\n%x\n%x", re, data[:n])
			}
			if typ == recCommit {
				decodeCommit(payload)
			} else {
				decodeOp(typ, payload)
			}
		}
		for _, final := range []bool{true, false} {
			r := &replay{cfg: Config{MaxRecordBytes: fuzzMaxPayload}}
			r.idx.first = 1
			end, err := r.scan(&segment{seq: 1, firstIndex: 1, path: "fuzz"}, data, final)
			if err == nil && (end < 0 || end > int64(len(data))) {
				t.Fatalf("scan end %d outside [0, %d]", end, len(data))
			}
		}
	})
}

// fuzzSeeds are valid and invalid records; the committed corpus in
// testdata/fuzz/FuzzDecodeRecord holds the same kinds.
func fuzzSeeds() [][]byte {
	var seg []byte
	seg = appendRecord(seg, recSegmentHeader, segmentHeader{seq: 1, firstIndex: 1}.encode())
	seg = appendRecord(seg, recCompact, encodeIndexTerm(0, 0))
	seg = appendRecord(seg, recHardState, encodeHardState(raft.HardState{Term: 2, Vote: "n1", Commit: 1}))
	e := raft.Entry{Index: 1, Term: 2, Type: raft.EntryNormal, Data: []byte("hello")}
	seg = appendRecord(seg, recEntry, appendEntryPayload(nil, &e))
	seg = appendRecord(seg, recCommit, commitMarker{batchStart: 0, records: 4, crc: crc32c(seg)}.encode())
	snap := appendRecord(nil, recSnapshot, encodeSnapshot(snapKeepSuffix, raft.SnapshotMeta{Index: 1, Term: 2,
		Configuration: raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: "a:1", Suffrage: raft.Voter}}}}))
	tooLong := append([]byte(nil), seg[:headerLen]...)
	binary.LittleEndian.PutUint32(tooLong, 1<<30)
	badCRC := append([]byte(nil), seg...)
	badCRC[headerLen+2] ^= 1
	return [][]byte{seg, snap, seg[:len(seg)-5], tooLong, badCRC, {}, make([]byte, 64)}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// TestFuzzSeedSegmentValid keeps the main seed meaningful: it must be a
// complete, recoverable segment.
func TestFuzzSeedSegmentValid(t *testing.T) {
	seg := fuzzSeeds()[0]
	r := &replay{cfg: Config{MaxRecordBytes: fuzzMaxPayload}}
	r.idx.first = 1
	end, err := r.scan(&segment{seq: 1, firstIndex: 1, path: "seed"}, seg, false)
	if err != nil || end != int64(len(seg)) || r.idx.lastIndex() != 1 || r.hs.Vote != "n1" {
		t.Fatalf("scan = %d, %v; last %d, hs %+v", end, err, r.idx.lastIndex(), r.hs)
	}
}
