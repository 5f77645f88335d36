package wal

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// realFileConfig zero-fills 64 KiB segments: big enough for the tests'
// batches, small enough to keep real-file tests fast.
func realFileConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 64 << 10
	return cfg
}

// appendBatches writes three batches of 5 entries into one segment and
// returns the segment's path and its size after each batch.
func appendBatches(t *testing.T, fsys vfs.FS, dir string) (string, [3]int64, *Log) {
	t.Helper()
	l, err := Open(fsys, dir, realFileConfig())
	if err != nil {
		t.Fatal(err)
	}
	var sizes [3]int64
	for b := range 3 {
		lo := raft.Index(1 + 5*b)
		mustAppend(t, l, raft.HardState{Term: 1, Commit: lo}, ents(lo, lo+5, 1))
		sizes[b] = l.segs[0].size
	}
	if len(l.segs) != 1 {
		t.Fatalf("%d segments, want 1", len(l.segs))
	}
	return l.segs[0].path, sizes, l
}

// TestCorruptionRealFile flips one byte of a synced batch that is not the
// last one of the final segment: reopening must fail, naming the file and
// the record's offset, and must not modify the file.
func TestCorruptionRealFile(t *testing.T) {
	dir := t.TempDir()
	path, _, l := appendBatches(t, vfs.OS{}, dir)
	loc := l.idx.locs[7] // entry 8, in the second batch
	l.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[loc.off+headerLen+3] ^= 0x01
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = Open(vfs.OS{}, dir, realFileConfig())
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("Open err = %v, want *CorruptionError", err)
	}
	if ce.File != path || ce.Offset != loc.off {
		t.Fatalf("corruption reported in %s at %d, want %s at %d", ce.File, ce.Offset, path, loc.off)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, raw) {
		t.Fatalf("file was modified (err %v)", err)
	}
}

// TestTornTailRealFile damages the file in the middle of its final batch,
// as a power loss during the write would: the end of the batch still
// holds the zeros written when the segment was created ("zeroed"), or,
// for a batch that extended the file, the file ends early ("truncated").
// Reopening zeroes the torn bytes, keeps the earlier batches, and the log
// takes further appends across reopens.
func TestTornTailRealFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cut      func(sizes [3]int64) int64
		truncate bool
	}{
		{"mid record, zeroed", func(s [3]int64) int64 { return s[1] + (s[2]-s[1])/2 + 3 }, false},
		{"before commit, zeroed", func(s [3]int64) int64 { return s[2] - headerLen - commitPayloadLen }, false},
		{"inside header, zeroed", func(s [3]int64) int64 { return s[1] + 5 }, false},
		{"last commit byte, zeroed", func(s [3]int64) int64 { return s[2] - 1 }, false},
		{"mid record, truncated", func(s [3]int64) int64 { return s[1] + (s[2]-s[1])/2 + 3 }, true},
		{"inside header, truncated", func(s [3]int64) int64 { return s[1] + 5 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, sizes, l := appendBatches(t, vfs.OS{}, dir)
			l.Close()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cut := tc.cut(sizes)
			if tc.truncate {
				raw = raw[:cut]
			} else {
				clear(raw[cut:sizes[2]])
			}
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err = Open(vfs.OS{}, dir, realFileConfig())
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			checkEntries(t, l, 1, ents(1, 11, 1))
			if hs, _, _ := l.InitialState(); hs.Commit != 6 {
				t.Fatalf("hard state %+v, want the second batch's", hs)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(raw) || !bytes.Equal(after[:sizes[1]], raw[:sizes[1]]) || dirtyEnd(after, sizes[1]) != sizes[1] {
				t.Fatalf("after repair: %d bytes (want %d), non-zero up to %d (want %d)",
					len(after), len(raw), dirtyEnd(after, sizes[1]), sizes[1])
			}
			mustAppend(t, l, raft.HardState{Term: 2, Commit: 11}, ents(11, 21, 2))
			l.Close()
			l, err = Open(vfs.OS{}, dir, realFileConfig())
			if err != nil {
				t.Fatalf("second reopen: %v", err)
			}
			defer l.Close()
			checkEntries(t, l, 1, append(ents(1, 11, 1), ents(11, 21, 2)...))
		})
	}
}

// TestPreallocatedSegment: a new segment is zero-filled to SegmentBytes,
// batches overwrite the zeros without growing the file, and a clean
// reopen reads the zeros as the end of the log (no repair, nothing
// written).
func TestPreallocatedSegment(t *testing.T) {
	dir := t.TempDir()
	path, sizes, l := appendBatches(t, vfs.OS{}, dir)
	l.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(raw)) != realFileConfig().SegmentBytes || dirtyEnd(raw, 0) != sizes[2] {
		t.Fatalf("segment is %d bytes, non-zero up to %d; want %d and %d",
			len(raw), dirtyEnd(raw, 0), realFileConfig().SegmentBytes, sizes[2])
	}
	var logged bytes.Buffer
	cfg := realFileConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	l, err = Open(vfs.OS{}, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if logged.Len() != 0 {
		t.Fatalf("clean reopen logged %q", logged.String())
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, raw) {
		t.Fatal("clean reopen modified the segment")
	}
	checkEntries(t, l, 1, ents(1, 16, 1))
	mustAppend(t, l, raft.HardState{Term: 2, Commit: 16}, ents(16, 21, 2))
	if fi, _ := os.Stat(path); fi.Size() != cfg.SegmentBytes {
		t.Fatalf("append grew the segment to %d bytes", fi.Size())
	}
}

// TestCorruptionCases damages synced data in ways recovery must refuse
// (every byte at or before a complete commit marker, final batch included).
func TestCorruptionCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(fs *vfs.Mem, l *Log) (string, int64) // flips a byte; returns file and record offset
		corrupt bool
	}{
		{"non-final segment, entry payload", func(fs *vfs.Mem, l *Log) (string, int64) {
			loc := l.idx.locs[0]
			fs.FlipByte(loc.seg.path, loc.off+headerLen+1)
			return loc.seg.path, loc.off
		}, true},
		{"non-final segment, length field", func(fs *vfs.Mem, l *Log) (string, int64) {
			loc := l.idx.locs[0]
			fs.FlipByte(loc.seg.path, loc.off+3)
			return loc.seg.path, loc.off
		}, true},
		{"non-final segment, segment header", func(fs *vfs.Mem, l *Log) (string, int64) {
			s := l.segs[1]
			fs.FlipByte(s.path, headerLen+2)
			return s.path, 0
		}, true},
		{"final segment, earlier batch commit", func(fs *vfs.Mem, l *Log) (string, int64) {
			s := l.segs[len(l.segs)-1]
			loc := l.idx.locs[len(l.idx.locs)-2] // second to last batch's entry
			fs.FlipByte(s.path, loc.off+int64(headerLen+padded(entryFixedLen+len(ent(1, 1).Data)))+9)
			return s.path, loc.off + int64(headerLen+padded(entryFixedLen+len(ent(1, 1).Data)))
		}, true},
		{"final segment, last batch under an intact commit marker", func(fs *vfs.Mem, l *Log) (string, int64) {
			loc := l.idx.locs[len(l.idx.locs)-1]
			fs.FlipByte(loc.seg.path, loc.off+headerLen+1)
			return loc.seg.path, loc.off
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			cfg := TestConfig()
			cfg.SegmentBytes = 300
			l := mustOpen(t, fsys, cfg)
			for i := raft.Index(1); i <= 30; i++ {
				mustAppend(t, l, raft.HardState{}, ents(i, i+1, 1)) // one entry per batch
			}
			if len(l.segs) < 3 {
				t.Fatalf("only %d segments", len(l.segs))
			}
			file, off := tc.damage(fsys, l)
			l.Close()
			_, err := Open(fsys, testDir, cfg)
			var ce *CorruptionError
			if !tc.corrupt {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			if !errors.As(err, &ce) || ce.File != file || ce.Offset != off {
				t.Fatalf("Open err = %v, want corruption in %s at %d", err, filepath.Base(file), off)
			}
		})
	}
}

// TestPrepareSegments: with Config.PrepareSegments, rotations take the
// segment zero-filled in the background; every segment is full-size, the
// log reads back across reopens, and a prepared file left by a closed log
// is removed by Open. Run with -race: the preparation is a goroutine.
func TestPrepareSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := realFileConfig()
	cfg.SegmentBytes = 4 << 10
	cfg.PrepareSegments = true
	l, err := Open(vfs.OS{}, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := raft.Index(1); i <= 400; i += 5 {
		mustAppend(t, l, raft.HardState{Term: 1, Commit: i}, ents(i, i+5, 1))
	}
	if len(l.segs) < 4 {
		t.Fatalf("%d segments, want several rotations", len(l.segs))
	}
	for _, s := range l.segs {
		if n, _ := (vfs.OS{}).Stat(s.path); n < cfg.SegmentBytes {
			t.Fatalf("%s is %d bytes, want zero-filled to %d", s.path, n, cfg.SegmentBytes)
		}
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, preparedName)); err != nil {
		t.Fatalf("no prepared file after half-filling the active segment: %v", err)
	}
	l, err = Open(vfs.OS{}, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := os.Stat(filepath.Join(dir, preparedName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover prepared file not removed: %v", err)
	}
	checkEntries(t, l, 1, ents(1, 401, 1))
}

// TestPrepareSegmentsCrash: a power loss at any point of a run that
// rotates onto prepared segments (the rename and the first batch not yet
// made durable by the directory fsync, or the preparation still running)
// keeps every acknowledged entry and nothing else.
func TestPrepareSegmentsCrash(t *testing.T) {
	cfg := TestConfig()
	cfg.PrepareSegments = true
	for seed := range uint64(60) {
		fsys := vfs.NewMem()
		l := mustOpen(t, fsys, cfg)
		n := raft.Index(1 + seed%7*3)
		for i := raft.Index(1); i <= n*5; i += 5 {
			mustAppend(t, l, raft.HardState{Term: 1, Commit: i}, ents(i, i+5, 1))
		}
		fsys.Crash(rand.New(rand.NewPCG(seed, 3)))
		l.Close() // waits for the preparation, whose writes fail after the crash
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		checkEntries(t, l, 1, ents(1, n*5+1, 1))
		mustAppend(t, l, raft.HardState{Term: 2}, ents(n*5+1, n*5+40, 2))
		l.Close()
	}
}
