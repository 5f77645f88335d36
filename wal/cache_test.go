package wal

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/agentd/agentd/raft"
)

// TestEntryCacheModel checks the window cache against a map of what the
// log holds: appends (with suffix truncations, as Append does), prefix and
// suffix drops. A cached entry is always the log's entry at that index,
// the byte bound holds, and the newest append is cached when it fits.
func TestEntryCacheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxBytes := uint64(rapid.IntRange(0, 400).Draw(t, "maxBytes"))
		c := newEntryCache(maxBytes)
		log := map[raft.Index]raft.Entry{} // the log's entries [first, last]
		first, last := raft.Index(1), raft.Index(0)
		term := raft.Term(1)
		for step := range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0: // truncate the suffix and re-append in a new term
				if last >= first {
					last = raft.Index(rapid.IntRange(int(first)-1, int(last)).Draw(t, "truncateAfter"))
					term++
					c.dropOutside(first, last)
				}
			case 1: // compact a prefix
				if last >= first {
					first = raft.Index(rapid.IntRange(int(first), int(last)+1).Draw(t, "compactTo"))
					c.dropOutside(first, last)
				}
			default: // append
				last++
				e := raft.Entry{Index: last, Term: term, Data: []byte(fmt.Sprint(step, rapid.StringN(0, 60, -1).Draw(t, "data")))}
				log[last] = e
				c.put(e)
				if e.Size() <= maxBytes {
					if got, ok := c.get(last); !ok || got.Term != e.Term {
						t.Fatalf("newest entry %d not cached", last)
					}
				}
			}
			if c.bytes > maxBytes {
				t.Fatalf("cache holds %d bytes, limit %d", c.bytes, maxBytes)
			}
			var sum uint64
			for i := first - 1; i <= last+1; i++ {
				got, ok := c.get(i)
				if !ok {
					continue
				}
				want, held := log[i]
				if i < first || i > last || !held || got.Term != want.Term || string(got.Data) != string(want.Data) {
					t.Fatalf("cache has %d/%d %q, log has [%d, %d] with %d/%d %q", i, got.Term, got.Data, first, last, want.Index, want.Term, want.Data)
				}
				sum += got.Size()
			}
			if sum != c.bytes {
				t.Fatalf("cache counts %d bytes, holds %d", c.bytes, sum)
			}
		}
	})
}
