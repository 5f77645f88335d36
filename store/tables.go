package store

import (
	"strings"
	"time"

	"github.com/tidwall/btree"
)

// tableID names a table whose index (the Raft index of its last change) is
// kept. Persisted in snapshots by position: only append.
type tableID int

const (
	tableKV tableID = iota
	tableTombstones
	tableSessions
	tableNodes
	tableServices
	tableChecks
	tableCA        // CA configuration and roots (ca.go)
	tableAutopilot // the autopilot configuration (autopilot.go)
	numTables
)

// tombstone records a deleted key and the index of its deletion, so that a
// list under a prefix still sees a higher index after a delete.
type tombstone struct {
	Key   string
	Index uint64
}

// lockDelay: the key cannot be acquired before Until (leader time).
type lockDelay struct {
	Key   string
	Until time.Time
}

// pair is a secondary-index row: (a, b) ordered lexicographically.
type pair struct{ a, b string }

func lessPair(x, y pair) bool {
	if x.a != y.a {
		return x.a < y.a
	}
	return x.b < y.b
}

// tables is one immutable version of the whole state. A published *tables
// is never modified: a write (tx) starts from a shallow copy and copies a
// tree (btree Copy: O(1), copy-on-write of the nodes it then touches)
// before its first change to it.
type tables struct {
	applied uint64            // Raft index of the last applied command
	index   [numTables]uint64 // per-table index; Invariant: index[t] <= applied

	kv         *btree.BTreeG[*KVEntry]  // by Key
	tombstones *btree.BTreeG[tombstone] // by Key (the graveyard)
	lockDelays *btree.BTreeG[lockDelay] // by Key
	sessions   *btree.BTreeG[*Session]  // by ID
	nodes      *btree.BTreeG[*Node]     // by Node
	services   *btree.BTreeG[*Service]  // by (Node, ID)
	checks     *btree.BTreeG[*Check]    // by (Node, CheckID)

	// Secondary indexes, derived (rebuilt on restore, not in snapshots).
	sessionsByNode *btree.BTreeG[pair] // (node, session ID)
	sessionKeys    *btree.BTreeG[pair] // (session ID, key): keys it holds

	// Rows are immutable once inserted: a change inserts a new row value.

	// caConfig is the Connect CA configuration (nil until bootstrapped);
	// caRoots the trusted roots in ID order. Both are replaced whole by a
	// write, never modified (ca.go).
	caConfig *CAConfig
	caRoots  []*CARoot

	// autopilot is the autopilot configuration (nil until a leader seeded
	// it); replaced whole by a write (autopilot.go).
	autopilot *AutopilotConfig

	// restore is a restore being staged chunk by chunk (restore.go); nil
	// when none. Not visible to reads; written into snapshots.
	restore *restoreStage
}

var treeOpts = btree.Options{NoLocks: true}

func newTables() *tables {
	return &tables{
		kv:             btree.NewBTreeGOptions(func(a, b *KVEntry) bool { return a.Key < b.Key }, treeOpts),
		tombstones:     btree.NewBTreeGOptions(func(a, b tombstone) bool { return a.Key < b.Key }, treeOpts),
		lockDelays:     btree.NewBTreeGOptions(func(a, b lockDelay) bool { return a.Key < b.Key }, treeOpts),
		sessions:       btree.NewBTreeGOptions(func(a, b *Session) bool { return a.ID < b.ID }, treeOpts),
		nodes:          btree.NewBTreeGOptions(func(a, b *Node) bool { return a.Node < b.Node }, treeOpts),
		services:       btree.NewBTreeGOptions(lessService, treeOpts),
		checks:         btree.NewBTreeGOptions(lessCheck, treeOpts),
		sessionsByNode: btree.NewBTreeGOptions(lessPair, treeOpts),
		sessionKeys:    btree.NewBTreeGOptions(lessPair, treeOpts),
	}
}

func lessService(a, b *Service) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.ID < b.ID
}

func lessCheck(a, b *Check) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.CheckID < b.CheckID
}

// ascendPrefix calls fn for each item of tr whose key (by keyOf) starts with
// prefix, in order, starting at pivot (an item whose key is prefix).
func ascendPrefix[T any](tr *btree.BTreeG[T], pivot T, keyOf func(T) string, prefix string, fn func(T) bool) {
	tr.Ascend(pivot, func(it T) bool {
		if !strings.HasPrefix(keyOf(it), prefix) {
			return false
		}
		return fn(it)
	})
}

func kvKey(e *KVEntry) string    { return e.Key }
func tombKey(t tombstone) string { return t.Key }

// tableIndex returns the largest of the given tables' indexes.
func (t *tables) tableIndex(ids ...tableID) uint64 {
	var m uint64
	for _, id := range ids {
		m = max(m, t.index[id])
	}
	return m
}

// atLeastOne applies Consul's rule that an index shown to clients is never
// 0 (blocking with index=1 on an empty store must block).
func atLeastOne(i uint64) uint64 { return max(i, 1) }
