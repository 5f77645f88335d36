package vfs

import (
	"errors"
	"io/fs"
)

// ErrNotExist is returned (wrapped) for a missing file; test with
// errors.Is(err, fs.ErrNotExist).
var ErrNotExist = fs.ErrNotExist

// ErrClosed is returned by a File used after Close, or by a Mem file handle
// that was open when the Mem crashed.
var ErrClosed = errors.New("vfs: file closed")

// FS is the filesystem the WAL and the snapshot store write through. Names
// are slash-separated paths; directories are implicit in names but must
// exist (MkdirAll) before files are created in them.
//
// Durability contract (what Mem models and OS provides):
//   - File data written with File.Write is durable only after File.Sync.
//   - A Create, Rename or Remove is durable only after SyncDir on the
//     directory that holds the name (both names for Rename; renames across
//     directories are not supported).
//   - MkdirAll is durable when it returns.
type FS interface {
	// Create creates name (truncating it if it exists) open for appending
	// writes and for reads.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending writes and for reads.
	OpenAppend(name string) (File, error)
	// Open opens an existing file for reading only.
	Open(name string) (File, error)
	// Remove deletes a file.
	Remove(name string) error
	// Rename atomically replaces newName by oldName (same directory).
	Rename(oldName, newName string) error
	// ReadDir lists the file names (not paths) in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string) error
	// SyncDir makes the creates, renames and removes in dir durable.
	SyncDir(dir string) error
	// Stat returns the size of name in bytes.
	Stat(name string) (int64, error)
}

// File is an open file. Write appends at the end of the file; WriteAt
// overwrites in place (the WAL overwrites zero-filled, preallocated space
// so that an fdatasync needs no filesystem-journal commit).
type File interface {
	// Write appends p. A short write returns an error.
	Write(p []byte) (int, error)
	// WriteAt writes p at off, extending the file if it ends past the
	// current size (a gap reads as zeros). Unsynced like Write. A short
	// write returns an error.
	WriteAt(p []byte, off int64) (int, error)
	// ReadAt reads len(p) bytes at off (io.ReaderAt semantics).
	ReadAt(p []byte, off int64) (int, error)
	// Truncate sets the file's size; the next Write appends at size.
	Truncate(size int64) error
	// Sync makes the file's data and size durable. It need not make
	// other metadata (timestamps) durable: OS uses fdatasync on Linux.
	Sync() error
	// Close releases the handle; it does not imply Sync.
	Close() error
	// Size returns the current size in bytes.
	Size() (int64, error)
}
