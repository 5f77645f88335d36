// Package check holds the simulator's cluster-level safety checkers. They
// are written against the Raft properties of Figure 3 of the paper, not
// against any one bug, and see the cluster only through what the harness
// reports: role changes, durable writes, applied entries, restarts and
// client acknowledgements.
//
//   - Election safety: at most one leader per term, and each leader holds,
//     for its term, the votes of a majority of its configuration's voters:
//     its own and granted MsgVoteResps of that term sent to it (§5.2;
//     election.go), so a miscounted election fails even when no second
//     leader collides with it.
//   - Log matching: two durable entries with the same index and term carry
//     the same bytes and follow entries with the same term (by induction,
//     the logs are identical up to there).
//   - Leader completeness: a leader's durable log holds, at every index up
//     to the highest applied index anywhere, the entry that was committed
//     there (checked whenever a leader makes its log durable).
//   - State machine safety: no two nodes apply different entries at one
//     index, and each node applies indexes in order without gaps (a
//     snapshot restore jumps forward, never back).
//   - Durability: after a crash and restart, a node's disk still holds the
//     term, vote and entries it had reported durable (what it acknowledged
//     to others); an acknowledged client write is committed at its index.
//   - Durable before send: a message leaving a node vouches only for what
//     the node has reported durable (Figure 2: stable storage is updated
//     before responding): a vote request or grant for its term and vote,
//     an append acknowledgement for its term and log up to the index, a
//     heartbeat reply for its term. Checked on every outgoing message,
//     crash or no crash.
//   - Commit durability: when an index is applied for the first time
//     anywhere, a majority of the voters of a configuration in force hold
//     it in stable storage (commit.go): a leader that counted its own
//     unsynced write is caught at once, before any crash loses it.
//   - One configuration change at a time: no durable log holds two
//     configuration entries above the highest index committed anywhere
//     (confchange.go, §4.1); and a configuration entry follows an entry
//     of its own term that was committed before the change was durable
//     anywhere (a leader changes the configuration only after committing
//     in its term: the thesis's erratum to §4.1).
//   - Convergence (end of the liveness phase): replicas at equal applied
//     index have equal state hashes.
//
// The first violation is kept; callers stop the run on it.
package check
