// Package wal is agentd's write-ahead log: a segmented, append-only,
// checksummed log implementing raft.LogStore, plus a snapshot file store
// (SnapshotStore). It writes through vfs.FS so that tests and the
// simulator can crash it (vfs.Mem) exactly where a real disk could fail.
//
// # Files
//
// The log directory holds segment files named "%016x-%016x.wal": a
// sequence number, unique and increasing over the log's whole life, then
// the index the segment's first entry would have (two segments may share
// that after a suffix truncation; never a seq). Other files are ignored.
// A segment holds whole batches; the next batch starts a new segment once
// the active one reaches Config.SegmentBytes.
//
// A new segment is zero-filled to Config.SegmentBytes with real writes
// (not fallocate alone, whose unwritten extents still journal on first
// write), made durable together with its first batch. Later batches
// overwrite those zeros in place, so their fdatasync flushes data blocks
// only and needs no filesystem-journal commit (the device's cache flush
// remains: on the reference ext4/virtio disk a 128-byte fdatasync became
// ~20% cheaper, see BENCHMARKS.md). Zeros after the last commit marker
// are the end of the log.
// With Config.PrepareSegments the next segment is zero-filled and fsynced
// by a background goroutine under the name "next.wal.tmp" once the active
// one is half full, and the rotating Append renames it into place (a
// leftover is removed by Open).
//
// # Record format (all integers little-endian)
//
// Every record starts at an offset that is a multiple of 8, so its 16-byte
// header never straddles a 512-byte sector and its length is never torn:
//
//	 0       4    5       8            12          16
//	+-------+----+-------+------------+-----------+------------------+---------+
//	|length |type| 0 0 0 | CRC32C     | 0 0 0 0   | payload          | 0-pad   |
//	|uint32 | u8 |       | uint32     |           | (length bytes)   | to 8    |
//	+-------+----+-------+------------+-----------+------------------+---------+
//	CRC32C (Castagnoli) covers bytes 0..7 of the header and the payload.
//	length <= Config.MaxRecordBytes is checked before anything is allocated.
//
// Payloads by type (only append new types):
//
//	1 SegmentHeader  magic "AWAL" u32 | version u32 | seq u64 | firstIndex u64
//	                 version 2 (written): zero-filled segment, see Files;
//	                 version 1 (still read): never zero-filled
//	2 Entry          index u64 | term u64 | entryType u8 | data
//	3 HardState      term u64 | commit u64 | vote (rest)
//	4 Snapshot       action u8 | index u64 | term u64 | configIndex u64 |
//	                 nservers u32 | nservers × (suffrage u8 | idLen u16 | id |
//	                 addrLen u16 | addr)
//	                 action: 1 note only, 2 discarded entries <= index and
//	                 kept the rest, 3 discarded the whole log
//	5 Truncate       index u64 | 0 u64   (entries after index are discarded)
//	6 Compact        index u64 | term u64 (entries <= index are discarded;
//	                 term is that entry's)
//	7 Commit         batchStart u64 | records u32 | batchCRC u32
//
// A batch is a run of records ended by a Commit record; batchStart is the
// segment offset of the batch's first record, records counts the records
// before the Commit, and batchCRC is the CRC32C of all bytes from
// batchStart up to the Commit record. A batch is written with one write
// and made durable with one fsync; a record counts only once its batch's
// Commit is read back intact.
//
// Every segment's first batch starts with SegmentHeader, then Compact
// (first-1, its term) stating the log's base, then Snapshot (note) and
// HardState when set. So a segment stays readable once every older
// segment is deleted, and recovery can start from the oldest survivor.
//
//	segment:  [Hdr Compact Snap? HS? ...records Commit] [records Commit] ... [0 0 0 ... up to SegmentBytes]
//
// # Operations
//
//   - Append(hs, ents): one batch [Truncate?] [HardState?] Entry… Commit,
//     one fdatasync (plus, when it opens a new segment, zero-filling it
//     and one directory fsync).
//     Truncate is present when ents[0].Index <= LastIndex(): replaced
//     entries vanish atomically with the batch that replaces them.
//   - ApplySnapshot, RecordSnapshot, Compact: one batch each; then
//     segments holding no live entry are deleted oldest first, with a
//     directory fsync after each removal so the survivors are always a
//     suffix of the sequence.
//   - Reads are served from a bounded cache of the newest appended entries
//     (Config.CacheBytes; one contiguous window, see cache.go) or from the
//     segment by an in-memory index (index -> segment, offset, term);
//     entry data is never held whole in memory.
//
// # Recovery
//
// Segments are replayed in seq order, a batch's records applied only when
// its Commit record is intact and matches (start, count, CRC). A segment
// whose bytes after its last complete Commit are all zero (or absent)
// ends cleanly there: that is the unused, zero-filled rest of the
// segment, and nothing is repaired or logged. Damage — a bad length,
// type, CRC, padding or commit, i.e. any non-zero byte after the last
// complete Commit — is a torn tail only if it lies in the final segment
// and no complete commit marker (a Commit record whose own CRC is intact)
// follows it (every aligned offset after the damage is tried, since a
// torn length breaks the record chain). A torn batch followed by zeros is
// such a torn tail. A torn tail is repaired by overwriting it with zeros
// (up to its last non-zero byte, not truncating, so the segment keeps its
// allocated space and no stale byte can follow a later, shorter batch)
// and fsyncing, and is logged; a final segment without any complete
// batch is removed. Anything
// else — including a batch whose intact Commit does not match it, even the
// final batch — returns *CorruptionError naming the file and offset, and
// nothing is modified. Because a batch is one write followed by one fsync,
// its Commit record reaching the disk intact means the batch was written
// whole; so a record that was fsynced is never dropped.
//
// A limit of zero-filling: latent damage that turns the final batches of
// the final segment into zeros is indistinguishable from their never
// having been written (as in etcd's and raft-wal's preallocated
// segments). In a non-final segment it is caught when the next segment's
// first index does not follow the log's last.
//
// # Errors
//
// Any write or fsync error marks the Log failed: the error (matching
// ErrFailed, see IsFatal) is returned by that call and every later one.
// The caller must stop the process and recover by reopening; the library
// never exits the process itself and never retries an fsync.
//
// # Snapshots and the log
//
// The driver writes a snapshot file (SnapshotStore.Create ... Sink.Close,
// durable on return) before calling Log.ApplySnapshot or RecordSnapshot.
// A crash in between leaves a snapshot file newer than the log's
// Snapshot(); see ReconcileSnapshot for how that is resolved.
package wal
