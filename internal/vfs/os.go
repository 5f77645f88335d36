package vfs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// OS is the real filesystem.
type OS struct{}

var _ FS = OS{}

func (OS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OS) OpenAppend(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OS) Remove(name string) error { return os.Remove(name) }

func (OS) Rename(oldName, newName string) error {
	if filepath.Dir(oldName) != filepath.Dir(newName) {
		return fmt.Errorf("vfs: rename %s to %s: across directories", oldName, newName)
	}
	return os.Rename(oldName, newName)
}

func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func (OS) MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The new directory entries themselves must survive a crash: sync the
	// parent (one level is enough for the WAL's single-level layout).
	return OS{}.SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// SyncDir fsyncs the directory so that entries created, renamed or removed
// in it survive a power loss (WAL checklist §2.4 item 1).
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

func (OS) Stat(name string) (int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// osFile is opened without O_APPEND, because on Linux pwrite ignores its
// offset on an O_APPEND file and WriteAt must overwrite in place. Write
// appends by writing at the current size instead; a File has one writer
// at a time (File's callers serialise writes), so the size cannot move
// in between.
type osFile struct{ f *os.File }

func (o osFile) Write(p []byte) (int, error) {
	end, err := o.f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	return o.f.WriteAt(p, end)
}

func (o osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o osFile) Sync() error                              { return datasync(o.f) }
func (o osFile) Close() error                             { return o.f.Close() }

func (o osFile) Size() (int64, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
