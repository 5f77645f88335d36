// Package world is a deterministic, single-goroutine simulated world: an
// event-driven scheduler on virtual time, per-host virtual clocks (with
// clock-rate skew and pauses), a network carrying datagrams and byte streams
// between string addresses (delay, loss, duplication, reordering,
// symmetric and asymmetric partitions), and per-host disk latency.
//
// It knows nothing about Raft: the Raft simulator (package jepsen) and the
// SWIM simulator build on it.
//
// # Event loop
//
// Events sit in a priority queue keyed by (virtual time, sequence number);
// Step pops the earliest and runs it, so time jumps from event to event and
// ties run in scheduling order. Nothing reads the wall clock, no goroutine is
// started and every random draw comes from a *rand.Rand the caller seeded, so
// one seed gives one run, byte for byte.
//
// # Hosts
//
// Every event that models work on a machine (a timer, a message delivery,
// a disk completion) is owned by a Host. While the host is paused its due
// events are deferred and re-run, in order, when it resumes. When it
// crashes its epoch advances and every event of the old epoch is dropped
// when it comes due: a crashed process loses its timers, queues and
// in-flight disk work. The caller owns what survives (its disk).
//
// # Caller duties
//
// Schedule only from the world's goroutine (event callbacks or the code
// that calls Step). Iterate only over slices or sorted keys: map order is
// random in Go and would break determinism.
package world
