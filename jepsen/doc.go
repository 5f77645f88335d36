// Package jepsen is agentd's deterministic simulator for the Raft core: a
// whole cluster, its clients and a nemesis on one goroutine, on simulated
// time, network and disks (package world), checked after every step.
//
// # One seed, one run
//
// A seed feeds one PRNG; the swarm (swarm.go) draws from it the cluster
// size (3–7 voters), client count, network delay/loss/duplication/
// reordering, disk latency, clock-skew bound, mean intervals of each fault
// kind, snapshot threshold and trailing log, key space and timeouts, and
// derives a sub-seed per subsystem (network, Raft cores, nemesis,
// clients, disk crashes) so that one subsystem drawing more numbers does
// not shift another. Nothing reads the wall clock, starts a goroutine in
// a run or iterates a map to make a decision, so a seed replays byte for
// byte: `go run ./cmd/sim -seed S -trace FILE` writes every delivery,
// persist, apply, role change and fault.
//
// # The event loop
//
// world.World is a priority queue of events keyed by (virtual time,
// sequence number); it jumps from event to event. Each node lives on a
// world.Host with a virtual clock (clock-rate skew), a vfs.Mem disk with
// latency, and network handlers.
//
// A node's process (node.go) is the production Ready-handling code,
// raft/driver.Handler, with simulated collaborators plugged into its
// seams: the real wal.Log and wal.SnapshotStore on the host's vfs.Mem
// (disk.go), so crashes hit the real WAL (torn tails, segments and renames
// lost without a directory fsync); simWorkers (simio.go) that run each
// disk job one host event later by the disk latency (slow-disk faults
// included) and call done in the same event, apply jobs with no latency;
// a Transport (transport.go) that sends raft.EncodeMessage datagrams on
// the world network and streams snapshots (the encoded MsgSnap, then the
// file) that the receiver stages in a file on its disk before handing
// them to Handler.ReceiveSnapshot; the KV store (kv.Store) as driver.FSM.
// Ticks come from a host timer. A restart is driver.New over the
// recovered disk (the newest snapshot file wins over the log's record).
// The driver's Tracer hook reports persists, applies and sends to the
// trace and the checkers, which read entries back from the WAL.
//
// # Fault model
//
// The safety phase lasts the swarm's drawn 8–22 s, prolonged (up to four
// times) until MinAcked client operations were acknowledged, so that a
// harsh swarm still leaves a history worth checking. In it the nemesis
// (nemesis.go) injects, at random intervals: crashes (power loss: the vfs.Mem drops or tears any subset
// of unsynced writes and un-synced directory entries; pending events,
// timers and in-flight disk jobs are lost; the node restarts from its
// disk after a random downtime) — half of them cut the power at one of
// the node's next fsyncs, inside a WAL append or a snapshot write (every
// later write and sync fails, so nothing after that instant is durable),
// plus power cuts during snapshot install and during local snapshots /
// compaction; full disks (a write comes up short with ENOSPC: the WAL
// fails, the driver's OnFatal exits the process without a power loss and
// it restarts over a torn tail); process pauses (events deferred until
// resume); partitions (symmetric split, asymmetric directed cuts, isolating the
// leader, a bridge node between two halves) lasting up to seconds, i.e.
// often beyond election timeouts; clock-rate skew; slow disks (5–55x);
// stretches of message loss, duplication and reordering; and membership
// changes through the core's conf-change API (add a fresh non-voter —
// IDs are never reused — sometimes a second one beside it, promote it,
// or let the core auto-promote, remove a member, sometimes the leader;
// while a change is pending another is proposed, which the core must
// refuse until the first commits; a removed member is stopped for
// good once its removal commits, or, in seeds without PreVote and
// CheckQuorum, as soon as every other member holds the removal, since
// nothing else keeps it from deposing every leader: membership.go);
// leadership transfers to a random voter (transfer.go); and, in a third
// of the seeds, slow links (slowlink.go): every datagram to and from one
// member, often the leader, is held for half to three maximum election
// timeouts, for a while, in order (a stalled connection), half of a
// leader's stalls striking right after its ReadIndex heartbeat round left,
// so that the round's answers arrive after another leader was elected
// and acknowledged writes.
// Crashes and pauses never take more than a minority of the committed
// configuration's voters out at once; partitions may. A third of the seeds add election-timed isolation (isolate.go): a new leader cut
// off from everyone (clients included) the moment it is elected, and a
// leader cut off the moment its commit index first moves in its term —
// the instants Figure 8 of the Raft paper (§5.4.2) turns on.
//
// Clients (client.go) issue put, get (through ReadIndex), cas and delete
// against the node they believe leads, with a timeout. Every operation is
// recorded in a history: acknowledged ones with their result; ones that
// definitely did not happen (not leader, rejected, overwritten) are
// dropped; ones whose outcome is unknown (timeout, leadership lost, node
// crashed) stay as possibly applied at any time after their call. In a third
// of the seeds (followerread.go, its own random streams) a share of the gets
// goes to another member instead, served as agentd serves ?consistent
// reads on a follower: the core forwards the ReadIndex request to the
// leader and the driver answers once the follower's own apply reaches the
// read index. Its result enters the history like any get, so a follower
// answering before its apply caught up fails linearizability.
//
// # Checkers
//
// After every step (package check): at most one leader per term, each
// holding grants of its term from a majority of its voters; log
// matching over every durable entry, and over a node's whole durable log
// after a snapshot install or a restart (check/logshape.go: from the
// snapshot's term on terms never decrease, and each entry follows the
// term it follows elsewhere, so a suffix a snapshot install wrongly kept
// shows); leader completeness (a leader of a
// later term than an entry's commit holds it); state machine safety (no
// two nodes apply different entries at one index, applies in order);
// durability (after a restart a node's disk still has the term, vote and
// last entry it had made durable); durable-before-send (where a message
// enters the network, transport.Send, what it vouches for is already in
// the node's durable view, as last reported by the driver's persist hook
// or recovered on restart, never its in-memory core: a MsgVote's own vote,
// a granted MsgVoteResp's term and vote, an accepted MsgAppResp's term
// and, while that term is still the durable one, its index (a later
// term's write merged into the same batch may replace the suffix), an
// accepted MsgHeartbeatResp's term); commit durability (commit.go: when
// an index is first applied anywhere, a majority of the voters of a
// configuration in force hold it in their WAL, so a leader counting its
// own unsynced write is caught with no crash needed); one change at a
// time (confchange.go: no durable log holds two configuration entries
// above the highest index committed anywhere; each follows a committed
// entry of its own term); no valid change refused (confrefusal.go: a
// change the nemesis proposes and the leader's own configuration allows
// is never refused as invalid, or membership would silently freeze);
// configuration from the log (confcheck.go: after a write that truncated
// the log, carried a configuration entry or installed a snapshot, and at
// start, a node's configuration is the latest in its log, so a
// configuration entry overwritten by a new leader is given up); bit rot (bitrot.go: on a third of the restarts,
// a byte flipped inside a synced batch of a copy of the node's WAL must
// make reopening the copy fail or leave the recovered log unchanged, since
// power loss alone never damages synced data); read index (node.go: a
// served read reports a read index no lower than any index applied
// anywhere before it was issued, and no higher than the serving node's
// applied index, so a stale read index fails even when the key's value
// did not change in between); a removed leader steps down (membership.go:
// 100 ms after its removal was applied it does not lead with a commit
// index covering the removal; checked before the simulator retires it,
// which would hide it). A
// panic from an
// assertion in the code under test also fails the run. At the end: the
// liveness check below; equal state hashes on every replica at equal
// applied index, after all members converged; a read of every key ever
// written; and the whole history must be linearizable (Porcupine, KV
// model partitioned by key; a timeout counts as a failure).
//
// # Liveness
//
// After the safety phase every fault heals (partitions, pauses, slow
// disks, skew, lossy network; crashed members restart). Within
// LivenessBound = 6 maximum election timeouts (15 ms ticks, ElectionTicks
// drawn from 6–12: 1.08–2.16 s of virtual time) a leader must be elected and a new client write
// committed and acknowledged; then, within ConvergenceBound (5 s), every
// member must apply the same index; then a burst of 24 concurrent 4 KiB
// writes (sustain.go) must all be acknowledged within SustainBound (5 s;
// the slowest of 300 seeds takes 1.1 s), so that a replication pipeline
// that stops draining (in a third of the seeds it is bounded to 2-32 KiB
// in flight per follower, flowSwarm) fails the run.
//
// # Planted bugs
//
// jepsen/plants/*.diff are small patches to raft/ that reintroduce classic
// bugs (earlier-term commit by counting replicas, vote without the log
// check, vote reply before the vote is durable, truncation without a
// conflict, a stale-term vote reply counted, a follower committing past
// the entries a message vouched for — together with a leader that probes
// again from its match index, since the exact conflict-term backtracking
// hides that follower bug from every schedule; see the plant's header),
// and to wal/ and raft/driver/ (skipped fsyncs, acknowledgements before
// durability, a follower read served before its apply reached the read
// index, which only follower reads show). jepsen/plants/run.sh applies
// each in a scratch copy and runs seeds in parallel until one fails a
// safety checker (liveness failures and panics do not count), printing
// which checker caught it and at which seed.
//
// No checker is aimed at one bug (a stale vote reply counted used to be
// caught only when a second leader of the same term happened to win too:
// at one seed in 1000, lost to any change of schedule; the election
// checker now judges each leader's votes themselves); what makes them
// reachable is the swarm
// (swarm.go): besides the average configuration, seeds draw slow disks
// (a wide window between a message and the durability it vouches for),
// short downtimes, one entry per MsgApp with 1–16 messages in flight (a
// new leader replicates its predecessors' entries one by one: Figure 8),
// no pre-vote or check-quorum, short election timeouts, frequent crashes
// biased to the leader, new leaders crashed within their first round
// trips, crashes right after a node sent an acknowledgement while it
// still had disk work pending, and new leaders or leaders whose commit
// just moved isolated at once (the Figure 8 schedule: an entry of an
// earlier term committed by counting replicas is overwritten by a leader
// holding another entry at its index, which leader completeness sees).
package jepsen
