// Package vfs is the filesystem seam: the small interface the WAL and the
// snapshot store write through, a real implementation on package os, and an
// in-memory implementation whose crashes lose what a real disk may lose
// (any subset of unsynced writes, torn at any byte, and directory entries
// not yet made durable by a directory fsync). The simulator and the crash
// tests use the in-memory one.
//
// Caller duties: Sync a file before relying on its data, SyncDir its
// directory after every Create, Rename and Remove before relying on the
// name, and treat any Write, Sync or SyncDir error as fatal (an fsync that
// failed may have dropped data that a retry would wrongly report durable).
package vfs
