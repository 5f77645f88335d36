// Package driver binds the pure SWIM core (package swim) to real I/O: UDP
// datagrams for probes and gossip, TCP streams for push-pull, the
// fallback probe and messages over PacketSize; a clock.Clock for time;
// AES-GCM encryption with a keyring; and persistence of what a restart
// needs in a data directory.
//
// # Shape
//
// A Driver is one pool (LAN or WAN); a process running both runs two, with
// separate Transports and DataDirs. There are no globals.
//
//	Transport ──HandlePacket──▶ open envelope ──inbox (bounded, drops counted)──┐
//	          ──HandleStream──▶ stream goroutine (≤ MaxInboundStreams) ──call───┤
//	Clock.AfterFunc(NextDeadline) ──wake──────────────────────────────────────┤
//	API (Join, Leave, SetTags, Members, …) ──call─────────────────────────────┤
//	                                                                          ▼
//	                        loop goroutine: the only one touching swim.Node
//	                          │ Ready.Packets: datagram → seal → WritePacket
//	                          │                stream   → goroutine (≤ MaxOutboundStreams)
//	                          │ Ready.Events → eventQueue → OnEvent (own goroutine)
//	                          └ state changed → persister (own goroutine, latest wins)
//
// The loop blocks on nothing but its select: no polling, no sleeping. The
// timer is re-armed after every input at the core's NextDeadline.
//
// # Events
//
// OnEvent gets every event (join, update, leave, fail, reap, user) in the
// core's order, on one goroutine. The queue in front of it is unbounded
// and never drops: blocking the loop on a slow consumer would stall acks
// and get this node declared failed, so instead Stats.EventsQueued and
// EventsMaxQueued show a consumer falling behind.
//
// # Wire format
//
// Datagrams and stream frame bodies start with a type byte. 1..0x7F are
// the core's messages, unchanged (see package swim). 0xE0 is an
// encryption envelope around one:
//
//	 0        1        2                   14                        n
//	+--------+--------+-------------------+-------------------------+
//	| 0xE0   | vsn=1  | nonce (12 bytes)  | ciphertext | tag (16 B) |
//	+--------+--------+-------------------+-------------------------+
//	AAD = 0xE0 | vsn | channel ('p' datagram, 's' stream)
//
// The key is found by trial decryption, primary first (memberlist does
// the same); the envelope does not name it. Nonces come from
// crypto/rand, never from the seeded simulation source. A stream carries
// one request frame and one reply frame:
//
//	+---------------------+--------------------------------------+
//	| length:4 big-endian | body (envelope or core message)      |
//	+---------------------+--------------------------------------+
//
// A zero length means "no reply". Lengths are checked against
// MaxStreamBytes before allocating. Type numbers are only appended.
//
// With a keyring, plaintext is dropped (Stats.PlaintextRefused) unless
// AcceptPlaintext; without one, envelopes are dropped. A message no key
// opens is dropped and counted (Stats.Undecryptable); input never panics.
// There is no replay protection beyond the core's: every message is an
// idempotent claim ordered by incarnation or Lamport time.
//
// # Keys
//
// Keys are base64 of 16, 24 or 32 bytes, as `consul keygen` prints them.
// The Keyring changes at run time without disturbing the pool: Install the
// new key on every member, Use it on every member, Remove the old one.
//
// # Persistence
//
// With Config.DataDir, through vfs.FS, each file replaced atomically (temp
// file, fsync, rename, directory fsync):
//
//	swim.state  JSON: name, incarnation, user-event Lamport clock, left
//	            flag, peers last seen alive
//	keyring     JSON array of base64 keys, primary first (Consul's format)
//
// On restart the node comes back at the persisted incarnation + 1, with
// its event clock (older user events are not delivered again), and
// rejoins its persisted peers unless it had left (RejoinAfterLeave). The
// persisted keyring wins over Config.Keys.
//
// # Caller's duties
//
//   - Give Swim its own seeded *rand.Rand; give KeyRand nothing (or
//     crypto/rand).
//   - Stop every driver; call Leave first for a graceful exit.
//   - OnEvent must return eventually and must not call Stop.
package driver
