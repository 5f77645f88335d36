package kv

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
)

// Store is the state machine: a map from key to value.
type Store struct {
	m map[string]string // never iterated unsorted
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{m: map[string]string{}} }

// Apply executes a write command. Gets in the log are a programming error.
func (s *Store) Apply(c Command) Result {
	switch c.Op {
	case OpPut:
		s.m[c.Key] = c.Value
		return Result{OK: true}
	case OpDelete:
		delete(s.m, c.Key)
		return Result{OK: true}
	case OpCAS:
		if v, ok := s.m[c.Key]; ok && v == c.Expected {
			s.m[c.Key] = c.Value
			return Result{OK: true}
		}
		return Result{}
	}
	panic(fmt.Sprintf("kv: apply of %v", c.Op))
}

// Get reads a key.
func (s *Store) Get(key string) Result {
	v, ok := s.m[key]
	return Result{Value: v, Found: ok}
}

// Len is the number of keys.
func (s *Store) Len() int { return len(s.m) }

func (s *Store) sortedKeys() []string {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Snapshot encodes the store: | n uvarint | (key, value) * n |, keys sorted
// so equal stores give equal bytes.
func (s *Store) Snapshot() []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(s.m)))
	for _, k := range s.sortedKeys() {
		for _, x := range []string{k, s.m[k]} {
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		}
	}
	return b
}

// Restore replaces the store with a Snapshot's contents.
func (s *Store) Restore(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return fmt.Errorf("kv: restore: bad count")
	}
	b = b[k:]
	m := make(map[string]string, n)
	for range n {
		var kv [2]string
		for i := range kv {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return fmt.Errorf("kv: restore: truncated")
			}
			kv[i] = string(b[k : k+int(l)])
			b = b[k+int(l):]
		}
		m[kv[0]] = kv[1]
	}
	if len(b) != 0 {
		return fmt.Errorf("kv: restore: %d trailing bytes", len(b))
	}
	s.m = m
	return nil
}

// Hash is a digest of the contents (replicas at equal applied index must
// agree on it).
func (s *Store) Hash() uint64 {
	h := fnv.New64a()
	h.Write(s.Snapshot())
	return h.Sum64()
}
