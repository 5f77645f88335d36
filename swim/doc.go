// Package swim is the gossip membership core: SWIM failure detection and
// dissemination (Das, Gupta, Motivala, DSN 2002) with HashiCorp's three
// Lifeguard extensions (Dadgar et al., arXiv:1707.00788), in the shape of
// memberlist + Serf as Consul uses them. It is a pure state machine, like
// package raft: no goroutines, no clock, no sockets, no global randomness.
// A driver binds it to UDP/TCP and real time; the simulator (package
// jepsen) binds it to a virtual network and clock.
//
// # API
//
//	New(cfg Config, now time.Time) (*Node, error)
//	(*Node).Tick(now)                             // run timers due at now
//	(*Node).NextDeadline() time.Time              // when Tick next has work
//	(*Node).HandlePacket(now, from, payload)      // a datagram; bad input is counted, never panics
//	(*Node).HandleStream(now, from, payload) []byte // a stream message; returns the reply to write back
//	(*Node).Join(now, addrs) error                // push-pull with each; retried until a reply
//	(*Node).Leave(now) error; LeaveDone() bool    // graceful leave (peers see "left")
//	(*Node).ForceLeave(now, name) error           // failed → left
//	(*Node).SetTags(now, tags) error
//	(*Node).UserEvent(now, name, payload, coalesce, filter) error
//	(*Node).HasReady() bool; Ready() Ready        // drain packets to send and the event stream
//	(*Node).Members(), Member(name), LocalMember(), Stats(), Health()
//
// # Caller's duties
//
//   - Pass a non-decreasing now to every call (an older one is taken as
//     the latest seen). Call Tick at NextDeadline; the deadline may move
//     earlier after any input, so re-read it after each call.
//   - Drain Ready after every call: send each Packet (Stream ones over a
//     stream: dial, write, read the reply, pass the reply to HandleStream)
//     and deliver Events in order. Events are never dropped, so an
//     undrained node grows without bound.
//   - Give the core its own seeded *rand.Rand (Config.Rand).
//   - Persist the incarnation if a restarted node should come back at a
//     higher one (Config.Incarnation); otherwise it refutes once told.
//   - Encryption (AES-GCM with a keyring, as memberlist) and compression
//     belong to the transport layer, wrapping Packet.Payload; not done yet.
//
// # Invariants
//
//	our own incarnation only grows; only we raise it
//	a member's entry changes only on a claim with incarnation >= its own
//	  (alive needs >; suspect/dead need >=), except a name reclaimed at a
//	  new address after DeadNodeReclaimTime
//	a suspicion timer exists exactly while the member is suspect
//	a suspect is declared dead by its timer only if our own probe of it
//	  failed during the suspicion or k members confirmed it; one we only
//	  heard accused by fewer is probed once more first (verification,
//	  state.go expireSuspicions)
//	no two queued broadcasts concern the same member
//	every walk of the member table uses insertion order: outputs depend
//	  only on the inputs and the seed
//
// # Wire format
//
// Not compatible with memberlist or Serf (which use msgpack); the ideas
// and the rules are theirs, the bytes are ours. Every message is
//
//	+--------+---------+------------------------------+
//	| type:1 | vsn:1   | body (per type)              |
//	+--------+---------+------------------------------+
//
// with vsn = 1. Integers are unsigned varints (uv); strings and byte
// strings are uv length then bytes (s); a bool is one byte 0/1 (b);
// tags are uv count then (s key, s value) pairs sorted by key (T).
//
//	 1 ping           uv seq | s target | s srcName | s srcAddr
//	 2 indirect-ping  uv seq | s target | s targetAddr | b nack | uv nackAfterMs |
//	                  s srcName | s srcAddr
//	 3 ack            uv seq
//	 4 nack           uv seq
//	 5 suspect        uv inc | s node | s from
//	 6 alive          uv inc | s node | s addr | T tags
//	 7 dead           uv inc | s node | s from          (from == node: left)
//	 8 compound       uv n (<=255) | n × (uv len | message, not a compound)
//	 9 push-pull      flags:1 (1 join, 2 response) | uv eventLTime | uv n |
//	                  n × (s name | s addr | T tags | uv inc | state:1 |
//	                  s accuser)
//	10 user-event     uv ltime | s name | s payload | b coalesce | s filter
//
// Limits checked before allocating: names 128 B, addresses 256 B, 64
// tags (values 512 B, total MaxTagsBytes), user-event fields 1 KiB,
// push-pull 8 MiB. Trailing bytes are an error. Type numbers are only
// ever appended.
//
// Datagrams are at most Config.PacketSize (1400) bytes: a ping or ack
// travels in a compound with as many queued updates as fit. Push-pull,
// the fallback ping, and anything larger go over a stream.
package swim
