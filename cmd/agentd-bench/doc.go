// Command agentd-bench drives an agentd HTTP API and reports what it saw.
//
// Modes (-mode):
//
//   - load (default): -clients closed-loop clients, each with exactly one
//     keep-alive connection (its own http.Transport, MaxConnsPerHost 1),
//     for -duration, doing -op (put, get, get-consistent, get-stale) on
//     keys drawn uniformly from -keys keys of -value-size bytes. Clients
//     are spread round-robin over the -addr list. Prints ops/s and
//     p50/p99/p999 latency, and a RESULT line for scripts.
//   - watch: -watchers blocking GETs (one connection each) spread over
//     -watch-keys keys, then -rounds rounds of one write per key; a
//     watcher's latency is from just before its key's PUT is sent to the
//     last byte of its answer (so it includes the PUT's own commit), and
//     every watcher's every wake is a sample. A round starts once every
//     watcher has sent its next GET and the store has handed out one
//     watch per blocking GET (/v1/agent/self Stats.store.watches_added):
//     all are parked again. Reports wake latency percentiles, the agent's
//     and this tool's CPU during the rounds, and the agent's peak
//     VmRSS/VmHWM (-pid: the agentd process itself). Needs
//     limits.http_max_conns_per_client raised.
//   - idle-watch: -watchers blocking GETs on a/x while -writes PUTs go to
//     b/*; reports the watchers' early returns and the store's wakeup
//     counter (/v1/agent/self Stats.store.wakeups) before and after:
//     both must stay zero.
//   - fsync: -fsyncs 128-byte appends each followed by fdatasync in -dir
//     (the filesystem under test); prints the median and p99, so every
//     comparison records the disk's flush latency of the same run.
//   - fsync-concurrent: -fsyncs rounds of k concurrent 128-byte overwrites,
//     each with fdatasync, in k zero-filled files, k = 1, 2, 3: how much the Raft
//     nodes of a cluster on one disk slow each other's flushes.
//   - watch-floor: the least one write waking -watchers blocking queries
//     can cost here: a child process that only writes a pre-rendered
//     answer to each connection and reads the next requests, against
//     watchers that only read, stamp and re-arm (floor.go). A bound for
//     -mode watch, not a measurement of agentd.
//
// Only the product's own HTTP API, as a client sees it: net/http clients,
// except the watchers, which write and parse their HTTP/1.1 by hand
// (rawconn.go) so that 10,000 of them cost the shared CPU less than the
// agent they measure.
// Latencies are kept in full (one slice per client) and sorted once at
// the end, so percentiles are exact, not bucketed.
package main
