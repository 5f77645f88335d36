package vfs

import (
	"math/rand/v2"
	"sort"
)

// Faults are fault-injection hooks for Mem. Each is nil-checked, so an
// absent hook costs nothing. Hooks run with the Mem's lock held: they must
// not call back into the Mem.
type Faults struct {
	// Write is consulted before every File.Write or WriteAt of p to name. A non-nil
	// error fails the write after only the first n bytes of p were written
	// (a short write, e.g. ENOSPC); those bytes are unsynced like any write.
	Write func(name string, p []byte) (n int, err error)
	// Sync is consulted before every File.Sync; a non-nil error fails it
	// and nothing becomes durable.
	Sync func(name string) error
	// SyncDir is consulted before every SyncDir; a non-nil error fails it
	// and nothing becomes durable.
	SyncDir func(dir string) error
}

// apply performs op on the visible contents and remembers it as unsynced.
func (ino *inode) apply(op fileOp) {
	ino.cur = applyOp(ino.cur, op)
	ino.pending = append(ino.pending, op)
}

func applyOp(b []byte, op fileOp) []byte {
	if op.truncate {
		return resize(b, op.off)
	}
	end := op.off + int64(len(op.data))
	if end > int64(len(b)) {
		b = resize(b, end)
	}
	copy(b[op.off:], op.data)
	return b
}

// resize shrinks b or grows it with zeros (a hole reads as zeros).
func resize(b []byte, size int64) []byte {
	if size <= int64(len(b)) {
		return b[:size:size]
	}
	return append(b, make([]byte, size-int64(len(b)))...)
}

// Crash simulates a power loss followed by a reboot. Every unsynced write
// is independently kept, dropped, or torn (only a random prefix of it
// reaches the disk), and every unsynced truncate is independently kept or
// dropped; writes that survive past a dropped one leave a zero-filled hole.
// Every namespace operation not made durable by SyncDir is independently
// kept or lost (a created file may vanish, a rename may revert, a removed
// file may come back); an operation whose source no longer exists is
// skipped. Files no longer named anywhere are gone. All open handles die;
// the FS is then usable again, holding only what survived.
func (m *Mem) Crash(r *rand.Rand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := make(map[string]*inode, len(m.durable))
	for k, v := range m.durable {
		ns[k] = v
	}
	for _, op := range m.pending {
		if r.IntN(2) == 0 {
			continue // lost
		}
		switch op.kind {
		case opCreate:
			ns[op.name] = op.ino
		case opRename:
			if ns[op.name] == op.ino {
				delete(ns, op.name)
				ns[op.newName] = op.ino
			}
		case opRemove:
			if ns[op.name] == op.ino {
				delete(ns, op.name)
			}
		}
	}
	for _, ino := range sortedInodes(ns) {
		b := ino.durable
		for _, op := range ino.pending {
			switch c := r.IntN(3); {
			case c == 0: // dropped
			case c == 1 || op.truncate: // kept
				b = applyOp(b, op)
			default: // torn: a prefix reached the disk
				b = applyOp(b, fileOp{off: op.off, data: op.data[:r.IntN(len(op.data)+1)]})
			}
		}
		ino.durable, ino.cur, ino.pending = b, append([]byte(nil), b...), nil
	}
	m.names = ns
	m.durable = make(map[string]*inode, len(ns))
	for k, v := range ns {
		m.durable[k] = v
	}
	m.pending = nil
	m.gen++
}

// sortedInodes returns the distinct inodes of ns ordered by id, so that
// Crash draws its random numbers in a fixed order.
func sortedInodes(ns map[string]*inode) []*inode {
	seen := map[*inode]bool{}
	var out []*inode
	for _, ino := range ns {
		if !seen[ino] {
			seen[ino] = true
			out = append(out, ino)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Clone returns an independent deep copy of the filesystem's state,
// durable and unsynced alike (open handles and faults are not carried
// over). The simulator uses it to keep one disk per node.
func (m *Mem) Clone() *Mem {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMem()
	for d := range m.dirs {
		c.dirs[d] = true
	}
	copies := map[*inode]*inode{}
	cp := func(ino *inode) *inode {
		if ino == nil {
			return nil
		}
		if n, ok := copies[ino]; ok {
			return n
		}
		n := &inode{
			id:      ino.id,
			durable: append([]byte(nil), ino.durable...),
			cur:     append([]byte(nil), ino.cur...),
			pending: append([]fileOp(nil), ino.pending...),
		}
		copies[ino] = n
		return n
	}
	for k, v := range m.names {
		c.names[k] = cp(v)
	}
	for k, v := range m.durable {
		c.durable[k] = cp(v)
	}
	for _, op := range m.pending {
		op.ino = cp(op.ino)
		c.pending = append(c.pending, op)
	}
	c.nextIno = m.nextIno
	return c
}
