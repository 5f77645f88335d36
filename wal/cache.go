package wal

import (
	"container/list"

	"github.com/agentd/agentd/raft"
)

// entryCache keeps recently written or read entries, bounded by the sum of
// their raft.Entry.Size, evicting the least recently used. It is guarded
// by Log.mu.
type entryCache struct {
	maxBytes uint64
	bytes    uint64 // Invariant: bytes == sum of Size() of cached entries <= maxBytes
	lru      *list.List
	byIndex  map[raft.Index]*list.Element
}

func newEntryCache(maxBytes uint64) *entryCache {
	return &entryCache{maxBytes: maxBytes, lru: list.New(), byIndex: map[raft.Index]*list.Element{}}
}

func (c *entryCache) get(i raft.Index) (raft.Entry, bool) {
	el, ok := c.byIndex[i]
	if !ok {
		return raft.Entry{}, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(raft.Entry), true
}

// put caches e. The cache keeps its own reference to e.Data, which callers
// must therefore not modify.
func (c *entryCache) put(e raft.Entry) {
	c.remove(e.Index)
	if e.Size() > c.maxBytes {
		return
	}
	c.byIndex[e.Index] = c.lru.PushFront(e)
	c.bytes += e.Size()
	for c.bytes > c.maxBytes {
		c.removeElement(c.lru.Back())
	}
}

func (c *entryCache) remove(i raft.Index) {
	if el, ok := c.byIndex[i]; ok {
		c.removeElement(el)
	}
}

func (c *entryCache) removeElement(el *list.Element) {
	e := c.lru.Remove(el).(raft.Entry)
	delete(c.byIndex, e.Index)
	c.bytes -= e.Size()
}

// dropOutside removes every entry with index < first or > last.
func (c *entryCache) dropOutside(first, last raft.Index) {
	for i, el := range c.byIndex {
		if i < first || i > last {
			c.removeElement(el)
		}
	}
}
