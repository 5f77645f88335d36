package vfs

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2): the data and the size (what reading the data
// back needs), not timestamps. Overwriting already-allocated, written
// blocks then needs no ext4 journal commit, where fsync would still commit
// the mtime change.
func datasync(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
