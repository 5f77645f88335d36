// Package agent runs an agentd agent: configuration in, a Raft server with
// the replicated store, the Consul-compatible HTTP API, and the leader's
// housekeeping loops.
package agent
