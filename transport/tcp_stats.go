package transport

import "sync/atomic"

// TCPStats are a TCP transport's counters since it started.
type TCPStats struct {
	Sent     uint64 // Raft frames written to a socket (both lanes)
	Received uint64 // Raft frames read and handed to the receiver

	DroppedQueueFull uint64 // Raft messages dropped: the lane's queue was full
	DroppedBackoff   uint64 // Raft messages dropped: no connection (dial failed or backing off)
	DroppedWrite     uint64 // Raft messages lost in a batch whose write failed

	Dials      uint64 // connection attempts (all kinds)
	DialErrors uint64
	// BadFrames counts inbound connections closed for malformed input
	// (unknown kind or version, a length over its cap, a bad RPC or
	// snapshot frame).
	BadFrames uint64

	SnapshotsSent          uint64 // streams the receiver acknowledged
	SnapshotsSendFailed    uint64
	SnapshotsReceived      uint64 // staged and handed to the receiver
	SnapshotsReceiveFailed uint64

	RPCCalls  uint64 // Call invocations
	RPCServed uint64 // requests answered by this server's handler
}

// counters is the live, atomically updated form of TCPStats.
type counters struct {
	sent, received                                       atomic.Uint64
	droppedQueueFull, droppedBackoff, droppedWrite       atomic.Uint64
	dials, dialErrors, badFrames                         atomic.Uint64
	snapsSent, snapsSendFailed, snapsRecv, snapsRecvFail atomic.Uint64
	rpcCalls, rpcServed                                  atomic.Uint64
}

func (c *counters) snapshot() TCPStats {
	return TCPStats{
		Sent: c.sent.Load(), Received: c.received.Load(),
		DroppedQueueFull: c.droppedQueueFull.Load(), DroppedBackoff: c.droppedBackoff.Load(), DroppedWrite: c.droppedWrite.Load(),
		Dials: c.dials.Load(), DialErrors: c.dialErrors.Load(), BadFrames: c.badFrames.Load(),
		SnapshotsSent: c.snapsSent.Load(), SnapshotsSendFailed: c.snapsSendFailed.Load(),
		SnapshotsReceived: c.snapsRecv.Load(), SnapshotsReceiveFailed: c.snapsRecvFail.Load(),
		RPCCalls: c.rpcCalls.Load(), RPCServed: c.rpcServed.Load(),
	}
}
