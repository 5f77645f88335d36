package wal

import (
	"fmt"
	"path/filepath"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// segment is one log file. Its name carries a sequence number unique
// across the log's life and the index its first entry would have; after a
// suffix truncation two segments may share a first index, never a seq.
type segment struct {
	seq        uint64
	firstIndex raft.Index
	path       string
	// f is open for reads; for the active segment also for appends.
	f vfs.File
	// size is the end of the last complete batch: for the active segment,
	// where the next batch goes. Guarded by Log.wmu.
	size int64
}

func segmentName(seq uint64, first raft.Index) string {
	return fmt.Sprintf("%016x-%016x.wal", seq, uint64(first))
}

// parseSegmentName recognises segment file names; other files are not the
// log's and are left alone.
func parseSegmentName(name string) (seq uint64, first raft.Index, ok bool) {
	if len(name) != 16+1+16+4 || filepath.Ext(name) != ".wal" {
		return 0, 0, false
	}
	var f uint64
	if n, err := fmt.Sscanf(name, "%016x-%016x.wal", &seq, &f); n != 2 || err != nil {
		return 0, 0, false
	}
	if segmentName(seq, raft.Index(f)) != name {
		return 0, 0, false
	}
	return seq, raft.Index(f), true
}

// CorruptionError reports damage to data that had been made durable: a
// bad record at or before a complete commit marker, in any segment. The
// log refuses to open; nothing is truncated or skipped.
type CorruptionError struct {
	File   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corruption in %s at offset %d: %v", e.File, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }
