// Package kv is the simulator's replicated state machine: a string
// key-value store with put, get, cas and delete, its command encoding, the
// sequential model that Porcupine checks client histories against, and the
// history recorder.
//
// Invariants: Apply is deterministic (equal command sequences give equal
// stores and equal Hash values); Snapshot/Restore round-trip exactly.
//
// Caller duties: reads are not commands; the cluster harness serves them
// from Store.Get only after a ReadIndex round says so.
package kv
