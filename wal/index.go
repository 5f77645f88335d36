package wal

import (
	"fmt"

	"github.com/agentd/agentd/raft"
)

// location says where an entry's record is.
type location struct {
	seg  *segment
	off  int64 // offset of the record in seg
	term raft.Term
}

// logIndex is the in-memory index of the log: where each live entry is,
// plus the log's bounds. Only locations are kept, never entry data.
//
// Invariant: lastIndex() == first-1+len(locs); prevTerm is the term of
// entry first-1 (0 when first == 1 and nothing was ever compacted).
type logIndex struct {
	first    raft.Index
	prevTerm raft.Term
	locs     []location // locs[k] is entry first+k
}

func (x *logIndex) lastIndex() raft.Index { return x.first - 1 + raft.Index(len(x.locs)) }

// term returns the term of entry i, which must be in [first-1, last].
func (x *logIndex) term(i raft.Index) raft.Term {
	if i == x.first-1 {
		return x.prevTerm
	}
	return x.locs[i-x.first].term
}

func (x *logIndex) has(i raft.Index) bool { return i+1 >= x.first && i <= x.lastIndex() }

func (x *logIndex) appendEntry(i raft.Index, l location) error {
	if i != x.lastIndex()+1 {
		return fmt.Errorf("entry %d does not follow last index %d", i, x.lastIndex())
	}
	x.locs = append(x.locs, l)
	return nil
}

// truncateAfter discards entries after i.
func (x *logIndex) truncateAfter(i raft.Index) error {
	if i+1 < x.first || i > x.lastIndex() {
		return fmt.Errorf("truncate after %d outside [%d, %d]", i, x.first-1, x.lastIndex())
	}
	clear(x.locs[i+1-x.first:]) // drop segment references
	x.locs = x.locs[:i+1-x.first]
	return nil
}

// compact discards entries up to i, which becomes first-1 with term t.
func (x *logIndex) compact(i raft.Index, t raft.Term) error {
	if i+1 < x.first || i > x.lastIndex() {
		return fmt.Errorf("compact to %d outside [%d, %d]", i, x.first-1, x.lastIndex())
	}
	n := int(i + 1 - x.first)
	// Copy rather than reslice so the discarded prefix's memory is freed.
	x.locs = append([]location(nil), x.locs[n:]...)
	x.first, x.prevTerm = i+1, t
	return nil
}

// reset empties the log so that the next entry is i+1, entry i having term t.
func (x *logIndex) reset(i raft.Index, t raft.Term) {
	x.first, x.prevTerm, x.locs = i+1, t, nil
}
