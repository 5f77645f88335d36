package wal

import (
	"errors"
	"log/slog"
)

// Config configures a Log.
type Config struct {
	// SegmentBytes: once the active segment holds at least this many
	// bytes, the next batch starts a new segment (a batch never spans two
	// segments, so a segment may exceed this by one batch). Each new
	// segment is zero-filled to this size (see the package doc): by the
	// Append that opens it, or ahead of time with PrepareSegments. Smaller
	// values let Compact free disk sooner and shorten that zero-filling,
	// at one extra directory fsync per rotation.
	SegmentBytes int64
	// PrepareSegments zero-fills the next segment on a background
	// goroutine once the active one is half full, so that the Append that
	// rotates renames a ready file instead of writing SegmentBytes of
	// zeros itself. Off in TestConfig and for the simulator: the WAL on
	// vfs.Mem must stay single-threaded and deterministic there.
	PrepareSegments bool
	// MaxRecordBytes bounds one record's payload, bytes: an entry with more
	// data is refused by Append, and a length field above it read from disk
	// is never trusted (it is checked before any allocation). Must cover
	// raft.Config.MaxEntrySize plus 17 bytes of entry header.
	MaxRecordBytes uint32
	// CacheBytes bounds the entries (by raft.Entry.Size) kept in memory to
	// serve reads without touching the disk. Older entries are read back
	// from their segment. 0 disables the cache.
	CacheBytes uint64
	// Logger receives recovery notes (torn tail repaired, segment
	// removed); nil means slog.Default(), so a repair is never silent.
	Logger *slog.Logger
}

// DefaultConfig is for production: 64 MiB segments (as etcd and
// raft-wal) prepared in the background, 64 MiB records, 16 MiB of cached
// entries.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:    64 << 20, // 64 MiB
		PrepareSegments: true,
		MaxRecordBytes:  64 << 20, // 64 MiB
		CacheBytes:      16 << 20, // 16 MiB
	}
}

// TestConfig uses tiny segments and cache so that tests exercise rotation,
// segment deletion and reads from disk with a handful of entries.
func TestConfig() Config {
	return Config{
		SegmentBytes:   1 << 10, // 1 KiB
		MaxRecordBytes: 1 << 20, // 1 MiB
		CacheBytes:     256,     // about 8 small entries
	}
}

func (c *Config) validate() error {
	switch {
	case c.SegmentBytes <= 0:
		return errors.New("wal: Config.SegmentBytes must be positive")
	case c.MaxRecordBytes < 1024:
		return errors.New("wal: Config.MaxRecordBytes must be at least 1024")
	}
	return nil
}
