// Package transport carries encoded Raft messages between servers.
//
// Mem is an in-memory network of drivers in one process, for tests and
// benchmarks: Send hands the payload straight to the destination's inbox
// (never blocking: a full inbox drops it, as a lossy network would), and a
// snapshot stream is copied into a temporary file on the real filesystem
// before the receiver gets it. Links can be cut to make a node lag.
//
// The TCP transport (one connection pool per peer with a separate priority
// lane for votes and heartbeats, and a streamed snapshot path) comes with
// the server issue; it implements the same driver.Transport.
package transport
