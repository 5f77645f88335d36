package wal

import (
	"github.com/agentd/agentd/raft"
)

// entryCache keeps the newest appended entries in memory, bounded by the
// sum of their raft.Entry.Size, evicting the oldest first. It is guarded
// by Log.mu.
//
// It is one contiguous window of indexes, not an LRU: the hot readers are
// the leader sending what it just appended and every node applying what
// was just committed, both at the tail. Entries read back from disk (a
// follower far behind, a restart) are not cached; they are read once per
// catching-up follower. A window costs no allocation or map operation per
// entry, which matters at tens of thousands of entries per second.
type entryCache struct {
	maxBytes uint64
	// ents[head:] hold indexes first, first+1, ...; slots before head are
	// zeroed (their Data released) and reclaimed when the slice is
	// compacted.
	ents  []raft.Entry
	head  int
	first raft.Index
	// Invariant: bytes == sum of Size() of ents[head:] <= maxBytes.
	bytes uint64
}

func newEntryCache(maxBytes uint64) *entryCache {
	return &entryCache{maxBytes: maxBytes}
}

// len is the number of cached entries.
func (c *entryCache) len() int { return len(c.ents) - c.head }

func (c *entryCache) get(i raft.Index) (raft.Entry, bool) {
	if i < c.first || i >= c.first+raft.Index(c.len()) {
		return raft.Entry{}, false
	}
	return c.ents[c.head+int(i-c.first)], true
}

// put caches e, the newest entry written: it replaces any cached entry at
// or after e.Index. An entry not adjacent to the window starts a new one.
// The cache keeps its own reference to e.Data, which callers must
// therefore not modify.
func (c *entryCache) put(e raft.Entry) {
	if n := c.len(); n > 0 && e.Index >= c.first && e.Index <= c.first+raft.Index(n) {
		c.dropFrom(e.Index)
	} else {
		c.reset()
	}
	if e.Size() > c.maxBytes {
		c.reset() // keep the window contiguous: nothing older stays either
		return
	}
	if c.len() == 0 {
		c.first = e.Index
	}
	c.ents = append(c.ents, e)
	c.bytes += e.Size()
	for c.bytes > c.maxBytes {
		c.dropOldest()
	}
}

// dropOutside removes every entry with index < first or > last.
func (c *entryCache) dropOutside(first, last raft.Index) {
	for c.len() > 0 && c.first < first {
		c.dropOldest()
	}
	if c.len() > 0 && last < c.first+raft.Index(c.len())-1 {
		c.dropFrom(max(last+1, c.first))
	}
}

func (c *entryCache) dropOldest() {
	e := &c.ents[c.head]
	c.bytes -= e.Size()
	*e = raft.Entry{}
	c.head++
	c.first++
	if c.head == len(c.ents) {
		c.ents, c.head = c.ents[:0], 0
	} else if c.head >= 1024 && c.head >= len(c.ents)/2 {
		// Reclaim the evicted prefix: amortised O(1) per entry.
		n := copy(c.ents, c.ents[c.head:])
		clear(c.ents[n:])
		c.ents, c.head = c.ents[:n], 0
	}
}

// dropFrom removes the entries with index >= i (i within the window or
// just past it).
func (c *entryCache) dropFrom(i raft.Index) {
	keep := c.head + int(i-c.first)
	for k := keep; k < len(c.ents); k++ {
		c.bytes -= c.ents[k].Size()
	}
	clear(c.ents[keep:])
	c.ents = c.ents[:keep]
	if c.len() == 0 {
		c.ents, c.head = c.ents[:0], 0
	}
}

func (c *entryCache) reset() {
	clear(c.ents)
	c.ents, c.head, c.bytes = c.ents[:0], 0, 0
}
