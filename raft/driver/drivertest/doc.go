// Package drivertest holds in-memory collaborators for driver tests and the
// simulator: a snapshot store, a MemoryStorage adapter, a state machine that
// records what it applied, and a manually stepped FIFO worker.
package drivertest
