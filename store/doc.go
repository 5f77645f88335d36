// Package store is agentd's replicated state: KV entries, the tombstone
// graveyard, lock delays, sessions, and the catalog (nodes, services,
// checks), with watch channels for blocking queries and the Raft FSM that
// feeds it.
//
// # Writes
//
// The only writer is Apply(index, cmd), driven by the Raft FSM (FSM) with
// committed entries, plus Restore from a snapshot. Commands are built with
// EncodeCommand(now, op) where op is one of *KVOp, *Txn, *SessionCreate,
// *SessionDestroy, *Register, *Deregister, *TombstoneReap, *RestoreState,
// *RestoreChunk, *RestoreCommit, *CASet, *AutopilotSet (format drawn in command.go; the
// Connect CA's state in ca.go). Apply returns a *Result: OK for
// conditional KV writes (cas, acquire, release, delete-cas), Err for
// commands the state refuses (errors.Is(err, ErrRejected)) or that do not
// decode (ErrDecode), Txn for transactions.
//
// # Invariants
//
//	apply is a pure function of (state, index, cmd): no clock, no randomness,
//	  no map iteration order; the leader's clock travels in the command (Now)
//	every index the store sets is the Raft index passed to Apply
//	index > AppliedIndex() on every Apply (panic otherwise)
//	a published version (*tables) is never modified; readers see one version
//	equal (applied index, command sequence) => equal Hash(), snapshot or not
//	a rejected command or a txn with any failed op changes nothing but the
//	  applied index
//	KVEntry.Session != "" only while that session exists
//	table indexes never decrease (TombstoneReap and RestoreState/Commit move them up)
//	CA: a configuration exists iff the roots are non-empty, and then exactly
//	  one root is active; a root's private key is never returned by a read
//
// # Index rules (Consul's)
//
//	KVGet      entry's ModifyIndex, else the KV table index (incl. tombstones)
//	KVList/Keys max(ModifyIndex under prefix, tombstone index under prefix),
//	           the table index if both are 0 (or the prefix is "")
//	sessions, nodes, checks, services, CA roots: their table's index
//
// Every read returns an index >= 1 (a blocking query with index=1 on an
// empty store must block). After a TombstoneReap a prefix's index may be
// lower than before, as in Consul; clients reset (consul-api.md §2.5).
//
// # Reads and watches
//
// Read methods take a *WatchSet (nil: don't watch) and return (index,
// result). Before loading the state they register a channel for the
// narrowest thing that can change the answer: one key (KVGet), a key prefix
// (KVList, KVKeys), one session, one node's sessions/checks/services, or a
// whole table (SessionList, Nodes, Checks). A write closes only the
// channels of what it touched (see watchRegistry): 10,000 readers of one
// key share one channel, and a write to b/x never wakes a reader of a/x.
// Restore, RestoreState and RestoreCommit close every channel. Channels are reference
// counted: Wait (or Close, for a set that will not wait) releases them, so
// the registry holds only what someone watches. Stats counts fires and
// wakeups.
//
// Caller's loop for a blocking query:
//
//	for {
//		ws := store.NewWatchSet()
//		idx, v := s.KVGet(ws, key)
//		if idx > minIndex { ws.Close(); return idx, v }
//		if !ws.Wait(ctx) { return idx, v }  // Wait releases the set
//	}
//
// # Caller duties
//
// The leader chooses session IDs and the time carried in commands; it runs
// session TTL timers (a renew is not a write) and proposes SessionDestroy on
// expiry, and proposes TombstoneReap for tombstones older than its
// tombstone TTL. Values and maps inside returned rows are shared with the
// store: treat them as read-only. The FSM snapshot bytes (Snapshot.WriteTo)
// are also the /v1/snapshot format; restoring one through Raft is the
// RestoreState command, or for one larger than a Raft entry RestoreChunk
// commands of RestoreChunkBytes and a RestoreCommit (restore.go: the stage
// is replicated state, kept in snapshots, invisible to reads).
package store
