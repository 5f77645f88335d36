//go:build !linux

package vfs

import "os"

// datasync falls back to File.Sync (F_FULLFSYNC on macOS) where
// fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }
