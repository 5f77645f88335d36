// Package transport carries server-to-server traffic: encoded Raft
// messages, streamed snapshots, and request/response RPCs.
//
// Two implementations of driver.Transport live here:
//
//   - Mem is an in-memory network of drivers in one process, for tests and
//     benchmarks: Send hands the payload straight to the destination's inbox
//     (never blocking: a full inbox drops it, as a lossy network would), and
//     a snapshot stream is copied into a temporary file on the real
//     filesystem before the receiver gets it. Links can be cut.
//   - TCP is the production transport (ListenTCP). It also serves and makes
//     the generic RPC calls (Call, SetRPCHandler) that the agent uses to
//     forward writes and consistent reads to the leader, on the same
//     listener.
//
// The TCP wire protocol is agentd's own. It is NOT wire-compatible with
// Consul's server RPC (port 8300 msgpack-RPC/yamux with its own first
// byte values); agentd servers only talk to agentd servers.
//
// # Connections
//
// A dialer opens a connection per purpose; its first two bytes say which:
//
//	+------+---------+
//	| kind | version |   kind: 'R' Raft priority lane   version: 1
//	+------+---------+         'A' Raft append (bulk) lane
//	                           'S' one snapshot stream
//	                           'C' RPC calls
//
// Per peer address a server keeps one 'R' connection (votes, heartbeats,
// ReadIndex: Message.IsPriority) and one 'A' connection (everything else,
// chiefly AppendEntries and their answers), each with its own bounded queue
// and writer goroutine; every snapshot gets a fresh 'S' connection. So a
// 64 MiB AppendEntries batch or a stalled snapshot never delays a
// heartbeat. RPC calls to one address share one 'C' connection.
//
// All integers are big-endian. A frame is a uint32 length followed by that
// many bytes; the length is checked against the frame's cap before any
// allocation, and a length of 0 is invalid except as the snapshot end mark.
//
// # Raft lanes ('R', 'A'): dialer → listener only, pipelined
//
//	+----------------+--------------------------------------+
//	| length uint32  | raft.EncodeMessage bytes (length B)  |   1 <= length <= raft.MaxMessageBytes
//	+----------------+--------------------------------------+
//	  ... repeated; the listener never writes on a Raft lane
//
// Answers travel on the answering server's own lanes to the sender's
// address. The receiver assumes no order across lanes or connections
// (Raft does not need it).
//
// # Snapshot stream ('S')
//
//	dialer → listener:
//	+----------------+----------------------------+
//	| length uint32  | raft.EncodeMessage(MsgSnap) |     header frame, <= raft.MaxMessageBytes
//	+----------------+----------------------------+
//	| n uint32       | n bytes of snapshot file    |     chunk, 1 <= n <= 1 MiB; repeated
//	+----------------+----------------------------+
//	| 0 uint32       |                                   end mark
//	+----------------+----------------+
//	| crc32c uint32  | total uint64   |                  Castagnoli CRC and byte count of all chunks
//	+----------------+----------------+
//	listener → dialer:
//	+-----+
//	| ack |   1: staged, fsynced and handed to Raft; 0: refused or failed
//	+-----+
//
// The receiver writes the chunks to a temporary file in
// TCPConfig.StagingDir (at most MaxSnapshotBytes), checks the trailer,
// fsyncs, and hands the file to Receiver.DeliverSnapshot (the Raft handler
// installs or deletes it) before it acks. The sender's done(ok) is that
// ack.
//
// # RPC ('C'): both directions, multiplexed
//
//	request, dialer → listener:
//	+----------------+---------------+-------------+----------------+-------------+
//	| length uint32  | id uint64     | mlen uint8  | method (mlen)  | body        |
//	+----------------+---------------+-------------+----------------+-------------+
//	response, listener → dialer:
//	+----------------+---------------+-------------+-------------------------------+
//	| length uint32  | id uint64     | status u8   | body                          |
//	+----------------+---------------+-------------+-------------------------------+
//	length counts everything after itself, <= TCPConfig.MaxRPCBytes;
//	1 <= mlen; status 0: body is the answer, 1: body is the handler's error text
//
// Requests are answered in any order; the id matches them up. A call that
// times out leaves its id behind; a late answer to it is discarded.
//
// # Invariants and failure handling
//
//	Send and SendSnapshot never block the caller (the Raft loop)
//	a lane's queue is bounded: a full queue drops the message, counts it, and reports the peer unreachable
//	a failed dial or write reports every recipient of the lost batch unreachable and backs off
//	  (BackoffMin doubling to BackoffMax, on the configured clock); while backing off, messages are dropped and reported
//	malformed network input never panics: the connection is closed and TCPStats.BadFrames counted
//	a Call error wrapping ErrNotSent means the handler never saw the request
//
// # Caller duties
//
// Call SetReceiver (with the driver) and SetRPCHandler after ListenTCP and
// before peers need them; until then Raft frames are dropped and calls
// answer with an error. Close the transport after stopping the driver.
// RPC handlers run on their own goroutines and are not waited for by
// Close.
package transport
