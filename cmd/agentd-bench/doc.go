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
//     watcher's latency is from the start of its key's PUT to its
//     response. Reports wake latency percentiles and the agent's peak
//     VmRSS/VmHWM (-pid). Needs limits.http_max_conns_per_client raised.
//   - idle-watch: -watchers blocking GETs on a/x while -writes PUTs go to
//     b/*; reports the watchers' early returns and the store's wakeup
//     counter (/v1/agent/self Stats.store.wakeups) before and after:
//     both must stay zero.
//   - fsync: -fsyncs 128-byte appends each followed by fdatasync in -dir
//     (the filesystem under test); prints the median and p99, so every
//     comparison records the disk's flush latency of the same run.
//
// Only plain net/http: the product's own HTTP API as a client sees it.
// Latencies are kept in full (one slice per client) and sorted once at
// the end, so percentiles are exact, not bucketed.
package main
