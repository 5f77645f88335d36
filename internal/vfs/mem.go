package vfs

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
)

// Mem is an in-memory FS with a power-loss model (see Crash) and fault
// injection (see Faults). It is safe for concurrent use and deterministic:
// the same calls and the same *rand.Rand give the same state.
type Mem struct {
	mu sync.Mutex
	// dirs holds the directories; MkdirAll is durable at once.
	dirs map[string]bool
	// names is the namespace as processes see it (path -> inode).
	names map[string]*inode
	// durable is the namespace a crash falls back to.
	// Invariant: names == durable with pending applied in order.
	durable map[string]*inode
	// pending lists namespace operations not yet made durable by SyncDir,
	// in the order they were made.
	pending []dirOp
	// nextIno numbers inodes so that Crash visits them in a fixed order.
	nextIno uint64
	// gen counts crashes: a handle opened in an older generation is dead.
	gen uint64
	// faults, when non-nil, is consulted by writes and syncs.
	faults *Faults
}

var _ FS = (*Mem)(nil)

// inode is one file's contents.
type inode struct {
	id uint64
	// durable is what survives a crash for sure.
	durable []byte
	// cur is what reads see. Invariant: cur == durable with pending applied.
	cur []byte
	// pending lists writes and truncates since the last Sync, in order.
	pending []fileOp
}

// fileOp is an unsynced write (data at off) or truncate (to size).
type fileOp struct {
	truncate bool
	off      int64 // write offset, or the new size for a truncate
	data     []byte
}

type dirOpKind uint8

const (
	opCreate dirOpKind = iota + 1
	opRename
	opRemove
)

// dirOp is an unsynced namespace change in dir.
type dirOp struct {
	kind    dirOpKind
	dir     string
	name    string // created / removed / renamed-from path
	newName string // renamed-to path
	ino     *inode
}

// NewMem returns an empty filesystem with the root directory "/" and ".".
func NewMem() *Mem {
	return &Mem{
		dirs:    map[string]bool{"/": true, ".": true},
		names:   map[string]*inode{},
		durable: map[string]*inode{},
	}
}

// SetFaults installs fault hooks (nil removes them).
func (m *Mem) SetFaults(f *Faults) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = f
}

func (m *Mem) checkParent(name string) error {
	if !m.dirs[filepath.Dir(name)] {
		return fmt.Errorf("vfs: %s: parent directory: %w", name, ErrNotExist)
	}
	return nil
}

func (m *Mem) Create(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkParent(name); err != nil {
		return nil, err
	}
	ino, ok := m.names[name]
	if ok {
		ino.apply(fileOp{truncate: true, off: 0})
	} else {
		m.nextIno++
		ino = &inode{id: m.nextIno}
		m.names[name] = ino
		m.pending = append(m.pending, dirOp{kind: opCreate, dir: filepath.Dir(name), name: name, ino: ino})
	}
	return &memFile{m: m, ino: ino, name: name, gen: m.gen}, nil
}

func (m *Mem) open(name string, readOnly bool) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return nil, fmt.Errorf("vfs: open %s: %w", name, ErrNotExist)
	}
	return &memFile{m: m, ino: ino, name: name, gen: m.gen, readOnly: readOnly}, nil
}

func (m *Mem) OpenAppend(name string) (File, error) { return m.open(name, false) }
func (m *Mem) Open(name string) (File, error)       { return m.open(name, true) }

func (m *Mem) Remove(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return fmt.Errorf("vfs: remove %s: %w", name, ErrNotExist)
	}
	delete(m.names, name)
	m.pending = append(m.pending, dirOp{kind: opRemove, dir: filepath.Dir(name), name: name, ino: ino})
	return nil
}

func (m *Mem) Rename(oldName, newName string) error {
	oldName, newName = filepath.Clean(oldName), filepath.Clean(newName)
	m.mu.Lock()
	defer m.mu.Unlock()
	if filepath.Dir(oldName) != filepath.Dir(newName) {
		return fmt.Errorf("vfs: rename %s to %s: across directories", oldName, newName)
	}
	ino, ok := m.names[oldName]
	if !ok {
		return fmt.Errorf("vfs: rename %s: %w", oldName, ErrNotExist)
	}
	if oldName == newName {
		return nil
	}
	delete(m.names, oldName)
	m.names[newName] = ino
	m.pending = append(m.pending, dirOp{kind: opRename, dir: filepath.Dir(oldName), name: oldName, newName: newName, ino: ino})
	return nil
}

func (m *Mem) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return nil, fmt.Errorf("vfs: readdir %s: %w", dir, ErrNotExist)
	}
	var out []string
	for name := range m.names {
		if filepath.Dir(name) == dir {
			out = append(out, filepath.Base(name))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *Mem) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

// SyncDir makes every pending create, rename and remove in dir durable.
func (m *Mem) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.faults != nil && m.faults.SyncDir != nil {
		if err := m.faults.SyncDir(dir); err != nil {
			return err
		}
	}
	if !m.dirs[dir] {
		return fmt.Errorf("vfs: syncdir %s: %w", dir, ErrNotExist)
	}
	kept := m.pending[:0]
	for _, op := range m.pending {
		if op.dir != dir {
			kept = append(kept, op)
		}
	}
	m.pending = kept
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, ino := range m.names {
		if filepath.Dir(name) == dir {
			m.durable[name] = ino
		}
	}
	return nil
}

func (m *Mem) Stat(name string) (int64, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return 0, fmt.Errorf("vfs: stat %s: %w", name, ErrNotExist)
	}
	return int64(len(ino.cur)), nil
}

// FlipByte xors the byte at off of name with 0xff in both the visible and
// the durable contents: latent corruption, as a bad sector would cause.
func (m *Mem) FlipByte(name string, off int64) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return fmt.Errorf("vfs: flip %s: %w", name, ErrNotExist)
	}
	if off < 0 || off >= int64(len(ino.cur)) {
		return fmt.Errorf("vfs: flip %s: offset %d outside size %d", name, off, len(ino.cur))
	}
	ino.cur[off] ^= 0xff
	if off < int64(len(ino.durable)) {
		ino.durable[off] ^= 0xff
	}
	return nil
}

// memFile is a handle on an inode.
type memFile struct {
	m        *Mem
	ino      *inode
	name     string
	gen      uint64
	readOnly bool
	closed   bool
}

func (f *memFile) check() error {
	if f.closed || f.gen != f.m.gen {
		return fmt.Errorf("vfs: %s: %w", f.name, ErrClosed)
	}
	return nil
}

func (f *memFile) Write(p []byte) (int, error) { return f.writeAt(p, -1) }

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vfs: write %s: negative offset", f.name)
	}
	return f.writeAt(p, off)
}

// writeAt writes p at off, or appends it when off is -1.
func (f *memFile) writeAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	if f.readOnly {
		return 0, fmt.Errorf("vfs: write %s: opened read-only", f.name)
	}
	n, err := len(p), error(nil)
	if f.m.faults != nil && f.m.faults.Write != nil {
		if k, ferr := f.m.faults.Write(f.name, p); ferr != nil {
			n, err = max(0, min(k, len(p))), ferr
		}
	}
	if off < 0 {
		off = int64(len(f.ino.cur))
	}
	if n > 0 {
		f.ino.apply(fileOp{off: off, data: append([]byte(nil), p[:n]...)})
	}
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("vfs: read %s: negative offset", f.name)
	}
	if off >= int64(len(f.ino.cur)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.cur[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	if f.readOnly || size < 0 {
		return fmt.Errorf("vfs: truncate %s to %d: not allowed", f.name, size)
	}
	f.ino.apply(fileOp{truncate: true, off: size})
	return nil
}

func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	if f.m.faults != nil && f.m.faults.Sync != nil {
		if err := f.m.faults.Sync(f.name); err != nil {
			return err
		}
	}
	// Replaying the unsynced operations onto durable costs what was written
	// since the last Sync; copying cur would cost the whole file each time
	// (a simulated WAL segment is fsynced hundreds of times). durable never
	// shares its array with cur, so it may be changed in place.
	for _, op := range f.ino.pending {
		f.ino.durable = applyOp(f.ino.durable, op)
	}
	f.ino.pending = nil
	return nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return fmt.Errorf("vfs: close %s: %w", f.name, ErrClosed)
	}
	f.closed = true
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	return int64(len(f.ino.cur)), nil
}
