// Package driver binds a raft.Node to disk, network, a clock and a state
// machine.
//
// The Ready-handling code lives in Handler and is shared: production wraps
// it in one goroutine (Driver), the simulator (package jepsen) calls the very
// same Handler from its single event loop on virtual time, so the simulator
// reaches ordering bugs in this code, not in a model of it.
//
// # Threads of control
//
// Handler is single-threaded: every method and every Worker done callback
// runs on one goroutine (the "handler goroutine"). It never blocks on disk or
// network. Disk and apply work are handed to FIFO Workers whose work runs
// elsewhere (a goroutine, or later on virtual time) and whose done callback
// comes back on the handler goroutine:
//
//	disk worker      LogStore.Append / ApplySnapshot / RecordSnapshot / Compact
//	apply worker     FSM.Apply, FSM.Snapshot (capture), FSM.Restore
//	snapshot worker  writing snapshot files (local ones, and received ones
//	                 copied from the transport's staging file)
//
// # Ready handling (raft/ready.go)
//
//  1. Messages are sent at once.
//  2. Disk work is queued in the handler's persist queue. One disk job is in
//     flight at a time; the next one starts at the end of the handler call
//     (or Batch) in which the previous one completed, after every Ready of
//     that call's inputs was queued, and merges every queued Ready without
//     a snapshot: one LogStore.Append and one fsync for the whole batch
//     (greedy group commit). A Ready with a snapshot is a
//     barrier: stage file → snapshot store (snapshot worker), FSM.Restore
//     (apply worker, after every earlier apply), LogStore.ApplySnapshot then
//     Append (disk worker).
//  3. After a disk job's done: MessagesAfterPersist of each merged Ready in
//     order, then Node.Persisted(mark) for each, in order.
//  4. CommittedEntries go to the apply worker as soon as the Ready is
//     taken (the core only hands out entries that are durable locally, or,
//     on a leader with raft.Config.ApplyBeforeLocalDurable, committed on a
//     quorum of followers while this node's Append of them may still be
//     queued: a local snapshot taken after applying them is recorded by a
//     disk job queued behind that Append, so the log holds its index).
//
// # Invariants
//
//	a MessagesAfterPersist message leaves only after the disk job holding its Ready completed
//	disk jobs complete in Ready order; Persisted marks are acknowledged in that order
//	FSM.Restore never interleaves with FSM.Apply (both run on the apply worker)
//	the snapshot file for index i is durable before the log records a snapshot at i
//	every Future is resolved exactly once: committed, failed, or unknown
//	after a fatal storage error nothing more is written, sent or acknowledged
//
// # Snapshots and crash recovery
//
// A local snapshot is taken when applied - lastSnapshot >= SnapshotThreshold:
// FSM.Snapshot on the apply worker (a consistent view at that index), file
// written and made durable by the snapshot store (snapshot worker), then on
// the disk worker LogStore.RecordSnapshot(meta) and LogStore.Compact(index -
// TrailingLogs). A crash may fall between the file and the log record, so on
// restart (New) the newest snapshot file wins: if it is newer than the log's
// snapshot meta the log is brought forward with LogStore.ApplySnapshot (which
// keeps the entries after it when they match, Figure 13 step 6), so the FSM
// restored from the file and the log's Storage.Snapshot() always agree. A log
// snapshot with no file at or above it is a fatal inconsistency.
//
// # Caller duties
//
// Driver's loop takes worker completions before other inputs, and all
// queued proposals at once, so that a disk job's completion is never
// stuck behind a queue of proposals and they share one Ready.
//
// Call Handler methods only from the handler goroutine. Workers must run
// jobs in submission order and call done on the handler goroutine. The
// Transport's SendSnapshot done must also come back on that goroutine
// (Driver arranges this for transports that call it from elsewhere).
// Close the LogStore only after Stop and after the workers are idle.
package driver
