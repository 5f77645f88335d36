package driver

import (
	"sync/atomic"

	"github.com/agentd/agentd/swim"
)

// Stats counts what the driver moved, dropped and refused. Counters only
// grow, except the two event-queue depths.
type Stats struct {
	Core swim.Stats

	PacketsIn  uint64 // datagrams received
	PacketsOut uint64 // datagrams sent
	// InboxDropped: datagrams dropped because InboxSize were waiting.
	InboxDropped uint64
	// Malformed: envelopes or frames this version cannot parse (the core
	// counts its own decode errors in Core.DecodeErrors).
	Malformed uint64
	// Undecryptable: envelopes no installed key opens, or envelopes
	// received without a keyring.
	Undecryptable uint64
	// PlaintextRefused: unencrypted messages dropped by an encrypting
	// driver (AcceptPlaintext off).
	PlaintextRefused uint64
	SendErrors       uint64 // datagram writes that failed

	StreamsIn  uint64 // inbound streams handled
	StreamsOut uint64 // outbound streams started
	// StreamsRefused: inbound streams closed at once, MaxInboundStreams
	// being in flight.
	StreamsRefused uint64
	// StreamsNotStarted: outbound streams skipped, MaxOutboundStreams
	// being in flight.
	StreamsNotStarted uint64
	// StreamErrors: dial, timeout, read or write failures.
	StreamErrors uint64

	EventsDelivered uint64 // events handed to OnEvent
	EventsQueued    int    // events waiting for OnEvent now
	EventsMaxQueued int    // the most ever waiting
	PersistErrors   uint64 // state writes that failed (retried on the next change)
}

// counters are the Stats fields written by several goroutines.
type counters struct {
	packetsIn, packetsOut, inboxDropped, malformed, undecryptable atomic.Uint64
	plaintextRefused, sendErrors                                  atomic.Uint64
	streamsIn, streamsOut, streamsRefused, streamsNotStarted      atomic.Uint64
	streamErrors                                                  atomic.Uint64
}

func (c *counters) fill(s *Stats) {
	s.PacketsIn = c.packetsIn.Load()
	s.PacketsOut = c.packetsOut.Load()
	s.InboxDropped = c.inboxDropped.Load()
	s.Malformed = c.malformed.Load()
	s.Undecryptable = c.undecryptable.Load()
	s.PlaintextRefused = c.plaintextRefused.Load()
	s.SendErrors = c.sendErrors.Load()
	s.StreamsIn = c.streamsIn.Load()
	s.StreamsOut = c.streamsOut.Load()
	s.StreamsRefused = c.streamsRefused.Load()
	s.StreamsNotStarted = c.streamsNotStarted.Load()
	s.StreamErrors = c.streamErrors.Load()
}

// countUnwrap records why unwrap refused a message.
func (c *counters) countUnwrap(err error) {
	switch {
	case err == nil:
	case errorsIs(err, ErrUndecryptable):
		c.undecryptable.Add(1)
	case errorsIs(err, ErrPlaintext):
		c.plaintextRefused.Add(1)
	default:
		c.malformed.Add(1)
	}
}
