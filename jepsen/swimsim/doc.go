// Package swimsim is the deterministic simulator of SWIM pools: 3 to 1000
// swim.Node cores on the shared simulated world (package jepsen/world),
// with packet loss, delay, duplication, reordering, partitions (some
// outlasting the longest suspicion), crashed, paused and CPU-starved
// members, joins, graceful leaves, tag updates and user events; then
// checkers over the recorded history and the live cores. One seed gives
// one run, byte for byte.
//
// # Driving the cores
//
// Each member is one world.Host running one swim.Node (member.go):
// datagrams go to HandlePacket, each stream carries one message to
// HandleStream, whose reply goes back on a stream of its own; the member
// keeps exactly one wakeup event at NextDeadline, so time jumps from
// event to event; every Ready is drained after each call, packets sent
// through the world's network, events recorded. A crash is world's
// (events and handlers dropped, the core discarded; no restart), a pause
// is world's (events deferred, the clock runs on).
//
// Starved (CPU-starved) member: every datagram and stream message it
// receives is handled 0.5–3 s late (uniform, independently per input,
// so inputs also reorder); its timers fire on time and what it sends
// leaves at once. It models a process that gets too little CPU to keep
// up with its inbox.
//
// # A run
//
// Swarm (swarm.go) draws the pool size (3–200: 70% 3–10, 20% 11–50, 7%
// 51–120, 3% 121–200), the swim preset, the base network and the rate and
// length of each fault from the seed. Run bootstraps the pool (everyone
// joins the first member), injects faults for the fault phase
// (nemesis.go; in StaleWitness runs each crash also pauses another member
// until it will offer a stale alive of the crashed one), heals everything
// but crashes (and rejoins, through a live member, any member whose Join
// never got a reply), then runs a liveness phase; in half the seeds
// (paircut.go) a quiet phase follows, in which the loss drops to 0,
// every member fires one user event at once (the burst), and, after a
// lead-in, one random pair of members is cut from each other
// (datagrams and streams, both ways) for 30–120 s, then one other member
// crashes for 20 s (quietcrash.go); in 30% of the converged seeds one
// member then crashes and restarts from its persisted state, as the swim
// driver restarts it (restart.go); then the checks.
// The liveness phase lasts up to DetectBound + 1 min, but ends once the
// views have converged and stayed so for an accusation window
// (at least a minute), never before min(DetectBound, 3 min) + 1 min
// (run.go livenessPhase): DetectBound is a worst case of about 54 min at
// N = 200.
//
// # Checkers (check.go), over the History (history.go)
//
//  1. detect: every crashed member is declared dead (or absent) at every
//     member up at the end by DetectBound after the crash or after its
//     own start if it joined later (bounds.go: (2(n−1)+1) probe periods
//     at full awareness, plus 2 for the verification of an unconfirmed
//     suspicion, plus the longest suspicion), the bound restarting after
//     each of the observer's own unhealthy spells; and once dead it is
//     never revived by an alive claim at or below the incarnation it was
//     declared dead at.
//  2. no-false-death: no healthy member is declared dead by a healthy
//     member. Healthy (over the AccuseWindow before the declaration):
//     not crashed, paused or starved, with at most 10% loss to at least
//     K+1 members (partitions count as total loss on the links they
//     cut). Declarations are grouped by (subject, incarnation) into one
//     accusation whose first suspicion is its origin; an accusation
//     whose origin was paused, cut off from the subject by a partition,
//     or under more than 10% loss is excused (both sides of a partition
//     rightly accuse each other, and that leaks after the heal); so is a
//     declaration by a member cut off from the subject while it
//     suspected it (the refutation could not reach it). A starved origin
//     is not an excuse.
//  3. reach: every join and tag update of a member up at the end reaches
//     every member up at the end (an event at that incarnation or later),
//     and the latest tags are what everyone ends with.
//  4. converge: at the end, after the final heal, every member up holds
//     one view: every member up live, every crashed one not.
//  5. health: every member up at the end has its Lifeguard awareness
//     score back at 0 at some point of the liveness phase, sampled each
//     simulated second (awareness.go): a score that never falls slows
//     probing for good yet stays within checker 1's bound, which allows
//     full awareness.
//     And after a quiet pair cut, one member crashes at zero loss: for
//     20 s no member's score may reach 2, since the relays nack each
//     failed probe of the crashed member (quietcrash.go). Then one
//     member with score 0 is cut from every other for 2¼ probe periods:
//     its probes fail with no nack, so its score must have risen
//     (isolate.go).
//  6. events: user events (fired at random by running members during
//     the fault phase) are delivered at most once per member, and a
//     member fires an event at a Lamport time above every one it
//     delivered before (userevents.go). Delivery to everyone is not
//     checked: user events have no anti-entropy. But in the quiet phase
//     of a pair cut every member up fires one at the same instant
//     (members whose clocks agree fire concurrently): by the end of the
//     lead-in they reached on average half the members up, and every
//     two fired at one Lamport time were both delivered by some member.
//     At the quiet phase's end one member fires 100 at once (several
//     datagrams' worth): each must reach some other member (volley.go).
//  7. leave: members leave gracefully at random (Leave, then shut down
//     once LeaveDone, logged as a crash for checkers 1 and 4); one whose
//     leave any member recorded ends as left, not failed, in every table
//     up at the end that holds it (the liveness phase waits for that as
//     for checker 4). A leave run at zero loss with no fault injected
//     until the leaver shut down, and no crashed member live in its
//     table, must be recorded by some member (History.QuietLeaves): a
//     LeaveDone that came before the leave message left made every
//     leave unheard, which the rule above excuses. Crashed members that
//     every running member holds dead at one incarnation are now and
//     then force-left by one of them (forceleave.go, own stream): they
//     are judged as leavers.
//  8. indirect: during a quiet pair cut (nothing else wrong over the cut
//     and the AccuseWindow before it, at least K+2 members up, no crashed
//     member live in the pair's views), neither member of the pair
//     suspects the other: the ping-req relays bridge the cut link. This
//     is the only scenario in which a probe succeeds through the relays
//     alone (streams are lossless, so the stream fallback acks every live
//     target otherwise), and a broken relay only adds suspicions that the
//     target refutes, which no other checker sees. Over the same quiet
//     window, from half-way through the lead-in (which starts with the
//     burst: full broadcast queues), no member accuses a running one at
//     all (paircut.go quietSuspicions).
//  9. table: in one member's records of another, the incarnation never
//     goes back until the subject is reaped (a stale suspicion or death
//     taken over a refutation, even one checker 2 excuses), and every
//     event and final table entry reports Consul's status for its state
//     (table.go), an event reporting a state change carries it as made
//     then (Member.StateChange), and each observer's last event about a
//     member agrees with its final table (the event stream is a faithful
//     log of the table: a failed entry turned left without a leave event
//     showed as failed to Consul).
//  10. probe-order: over the quiet window of a pair cut (from half-way
//     through the lead-in to the cut's end), no member starts more than
//     2N+2 probes in a row without probing a member it held live
//     throughout, N being the others it holds live (probeorder.go:
//     round-robin over a fresh shuffle per round allows exactly 2N−2).
//     Probes are read off the wire (a ping a member sends from Tick).
//  11. join (live, join.go): a Join's retries keep their backoff; the
//     first push-pull answer from a contact makes Joined true within the
//     same HandleStream (unless the join could already have given up,
//     JoinMaxAttempts); after it, no join push-pull is sent until Join is
//     called again.
//
// The checker functions are pure functions of a History, so tests craft
// violations for each (check_test.go).
//
// # Measurements (measure.go, report.go, bench.go)
//
// Detection latency (N = 5, 100; split into first suspicion, suspicion
// and spread, beside floor.go's model of the probe and suspicion
// schedule with instant dissemination), dissemination to 99.9% (N = 1000, 0%
// and 10% loss), and false positives with 10% loss and one starved
// member with Lifeguard on and off (N = 50, 1 h): cmd/swimsim -measure.
//
// The report (cmd/swimsim -report): per N = 10, 100, 1000 and loss 0, 5,
// 10%, trials of one fault-free LAN pool each (RunTrial): a quiet period
// (false accusations per member-hour, Lifeguard on and off on the same
// seed; traffic per member), one tag update, one crash, and a join storm
// of 100 members. Traffic counts payload bytes the members hand to the
// network (Traffic), not UDP/TCP headers.
//
// The simulator's speed (cmd/swimsim -bench 1000): bootstrap and one
// simulated minute of a 1000-member pool, in real and CPU time.
package swimsim
