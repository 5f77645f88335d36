package store

import (
	"fmt"
	"testing"
)

// BenchmarkApplyKVSet: one PUT into a store of 100,000 keys (copy-on-write
// path copy included).
func BenchmarkApplyKVSet(b *testing.B) {
	h := newHarness(b)
	for i := range 100_000 {
		h.set(fmt.Sprintf("k/%06d", i), "v")
	}
	cmds := make([][]byte, 1024)
	for i := range cmds {
		cmds[i] = EncodeCommand(t0, &KVOp{Verb: KVSet, Key: fmt.Sprintf("k/%06d", i*97), Value: make([]byte, 256)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.idx++
		h.s.Apply(h.idx, cmds[i%len(cmds)])
	}
}

// BenchmarkWriteWithWatchers: a write to b/* while 10,000 readers watch
// 1,000 a/* keys and 100 prefixes: the cost must not grow with watchers.
func BenchmarkWriteWithWatchers(b *testing.B) {
	for _, watchers := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			h := newHarness(b)
			for i := range watchers {
				h.s.KVGet(NewWatchSet(), fmt.Sprintf("a/%d", i%1000))
				if i%100 == 0 {
					h.s.KVList(NewWatchSet(), fmt.Sprintf("a/%d", i))
				}
			}
			cmd := EncodeCommand(t0, &KVOp{Verb: KVSet, Key: "b/x", Value: []byte("v")})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.idx++
				h.s.Apply(h.idx, cmd)
			}
		})
	}
}
