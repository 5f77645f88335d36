// Package agent runs an agentd agent in server mode: configuration in, a
// Raft server with the replicated store (store.FSM) as its state machine,
// the Consul-compatible HTTP API, and the leader's housekeeping.
//
// # Modes
//
//	-dev                 one in-memory server (raft MemoryStorage), bootstrapped and
//	                     elected at once; no network besides HTTP
//
// Every other server keeps Raft on disk (wal in data_dir/raft; a restart
// keeps all data), finds the others through SWIM gossip (Consul's tags:
// role=consul, dc, port, id, vsn, and bootstrap=1 or expect=N) and talks
// Raft and RPC over transport.TCP (cluster.go). On an empty data dir:
//
//	-server -bootstrap   bootstraps Raft with itself alone and elects itself at once;
//	                     others join it (retry_join, PUT /v1/agent/join)
//	-server -bootstrap-expect N
//	                     bootstraps once N servers are in the pool and none has Raft
//	                     state; a server that finds a running cluster naming it joins
//	                     with an empty log
//	-server              (neither) never bootstraps: runs Raft with an empty log and
//	                     waits for the running cluster's leader to add it (join.go)
//
// A restarted server the leader's configuration no longer names (removed
// while down) rejoins as a new server: new node ID, empty Raft state
// (rejoin.go), added by the leader like a join-only server.
//
// # Requests
//
// Paths are taken as Consul's HTTP server takes them (http_canonical.go):
// one holding an unprintable rune is a 400, an unclean one ("a//b", a KV
// key with a leading slash) a 301 to its cleaned form.
// Writes become store commands stamped with the proposing server's clock
// (store.EncodeCommand) and go through Raft on the leader; a follower
// forwards them over the server RPC, and forwards again (until the hold
// timeout) one that was refused unapplied by a server no longer leading.
// Reads are served from the local store: ?stale at once (once a leader was
// heard from; before, as a default read); the default mode on the leader
// once it is ready (it has applied an entry of its own term: the barrier
// run on gaining leadership); ?consistent, and any non-stale read on a
// follower, after a ReadIndex round. ?max_stale re-runs a catalog or
// health read as a default one when the follower's contact is older. Blocking queries (?index) wait on the store's narrow watches and
// re-run the read, barrier included, when one fires (http_blocking.go); a
// snapshot restore answers them at once (Consul's abandon channel). A KV
// query that has to wait parks its HTTP/1.1 connection rather than hold
// net/http's goroutines and buffers: one goroutine per watcher, woken by
// the store's WatchSet.Notify, which also serves the client's next KV GET
// in place (http_park.go, http_inline.go, http_repeat.go).
//
// # Leader duties (run while ready; cancelled on losing leadership)
//
//	session TTL timers     expiry is a SessionDestroy through Raft; renew is not a write
//	catalog reconcile      gossip members → nodes with serfHealth; left → deregistered
//	Raft membership        new servers added as non-voters; left servers removed
//	dead-server cleanup    servers failed (or unknown to gossip) for deadServerAfter are
//	                       removed and force-left, at most (voters-1)/2 voters a pass and
//	                       never below autopilot.min_quorum (autopilot.go)
//	tombstone reaping      TombstoneReap after tombstoneTTL
//	Connect CA             with connect.enabled, a CA configuration and self-signed root
//	                       (store.CASet) whenever the store has none (ca_leader.go)
//	autopilot config       seeded from autopilot.* (store.AutopilotSet, check-and-set
//	                       on index 0) when the store has none (http_autopilot.go)
//
// # Agent-local and pool-wide endpoints
//
// Served without a leader as soon as the gossip pool runs (http_early.go):
// /v1/agent/self, /members, /join, /force-leave. Asked of every member
// over the server RPC: /v1/operator/keyring (keyring.go). Through gossip:
// user events, kept in a 256-event buffer per agent after its own filters
// (events.go). From the leader: autopilot health and state
// (autopilot_health.go), leadership transfer (http_transfer.go). Local:
// /v1/agent/metrics, /monitor (a log handler feeding open streams),
// /reload (the command's SIGHUP reload), /version.
//
// # Snapshots
//
// Every server, leader or not, checks every raft_snapshot_interval plus up
// to as much jitter whether raft_snapshot_threshold entries were applied
// since its last snapshot, and takes one if so (snapshots.go). A
// /v1/snapshot restore larger than one Raft entry is staged on every server
// in 512 KiB chunks and committed by one command (http_snapshot.go,
// store/restore.go).
//
// # Observability
//
// /v1/agent/metrics serves gauges in Consul's shape: its runtime, raft and
// session names, and agentd's counters (the store's blocking-query
// wakeups among them), as Prometheus text when enabled (http_metrics.go).
//
// /v1/agent/self Stats.raft adds snapshots_installed and snapshots_taken
// (this process's driver counters), autopilot_removed (dead servers this
// process removed while leading) and last_contact. X-Consul-LastContact
// on a ?stale read is the follower's time since it last heard from the
// leader (driver LastContact, polled every contactPoll), 0 on the leader;
// default and ?consistent reads report 0 and KnownLeader true, as Consul's
// (it forwards them to the leader; here a ReadIndex round confirmed it).
//
// # Invariants
//
//	only the leader proposes session expiries and reconcile writes
//	X-Consul-Index is never 0; it is unchanged when a blocking query times out
//	no HTTP input panics a handler (FuzzHTTP); a panic would be counted in Agent.panics
//	request bodies are capped before they are read (chunked too)
//
// # Caller duties
//
// New returns once Raft runs (for -bootstrap-expect: once the expected
// servers are present; a join-only server's Raft runs at once, before any
// cluster has added it). Call Shutdown exactly once when done (more calls
// are no-ops); call Leave first for a graceful departure. Watch LeaveCh
// (a leave requested through the API) and FatalCh (a storage failure:
// exit non-zero).
package agent
