// Package vfs is the filesystem seam: the small interface the WAL and the
// snapshot store write through, a real implementation on package os, and an
// in-memory implementation whose crashes lose what a real disk may lose
// (any subset of unsynced writes, torn at any byte, and directory entries
// not yet made durable by a directory fsync). The simulator and the crash
// tests use the in-memory one.
package vfs
