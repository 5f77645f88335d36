package raft

import "fmt"

// MessageType names a Raft message.
//
// Values are sent on the wire: only append.
type MessageType uint8

const (
	MsgVote           MessageType = 1  // RequestVote (§5.2)
	MsgVoteResp       MessageType = 2  // reply to MsgVote
	MsgPreVote        MessageType = 3  // PreVote request (thesis §9.6); Term is the term the sender would campaign in
	MsgPreVoteResp    MessageType = 4  // reply to MsgPreVote
	MsgApp            MessageType = 5  // AppendEntries with entries (§5.3)
	MsgAppResp        MessageType = 6  // reply to MsgApp or MsgHeartbeat
	MsgHeartbeat      MessageType = 7  // AppendEntries without entries; Context carries a ReadIndex round
	MsgHeartbeatResp  MessageType = 8  // reply to MsgHeartbeat; echoes Context
	MsgSnap           MessageType = 9  // InstallSnapshot announcement; the driver streams the bytes
	MsgTimeoutNow     MessageType = 10 // leadership transfer: campaign now (thesis §3.10)
	MsgReadIndex      MessageType = 11 // follower asks the leader for a read index; Context identifies it
	MsgReadIndexResp  MessageType = 12 // leader's answer: Index is the read index, Reject if it could not serve
	MsgProp           MessageType = 13 // reserved: proposal forwarding (not sent by this core)
	MsgSnapStatus     MessageType = 14 // reserved: local only, never on the wire
	msgTypeSentinel   MessageType = 15 // first unused value; keep last
	maxMessageTypeVal             = msgTypeSentinel - 1
)

var messageTypeNames = [...]string{
	MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp", MsgPreVote: "MsgPreVote",
	MsgPreVoteResp: "MsgPreVoteResp", MsgApp: "MsgApp", MsgAppResp: "MsgAppResp",
	MsgHeartbeat: "MsgHeartbeat", MsgHeartbeatResp: "MsgHeartbeatResp", MsgSnap: "MsgSnap",
	MsgTimeoutNow: "MsgTimeoutNow", MsgReadIndex: "MsgReadIndex", MsgReadIndexResp: "MsgReadIndexResp",
	MsgProp: "MsgProp", MsgSnapStatus: "MsgSnapStatus",
}

func (t MessageType) String() string {
	if t >= 1 && t < msgTypeSentinel {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Valid reports whether t is a known message type.
func (t MessageType) Valid() bool { return t >= 1 && t < msgTypeSentinel }

// Message is every Raft RPC, request or response. Fields unused by a type are
// zero. The wire form is produced by EncodeMessage.
type Message struct {
	Type MessageType
	From NodeID
	To   NodeID
	Term Term // sender's term (for MsgPreVote: the term it would campaign in)

	// MsgApp/MsgHeartbeat: PrevLogIndex/PrevLogTerm. MsgVote/MsgPreVote: the
	// candidate's last log index/term. MsgAppResp: the index acknowledged
	// (or, with Reject, the rejected PrevLogIndex).
	LogTerm Term
	Index   Index

	Entries []Entry // MsgApp
	Commit  Index   // leader's commit index (MsgApp, MsgHeartbeat)

	Reject bool // negative response
	// Fast backtracking (§5.3, Students' Guide): on a rejected MsgApp the
	// follower reports the term at the conflicting index (0 if it has no
	// entry there) and the first index it holds for that term, or its last
	// index + 1 when ConflictTerm is 0.
	ConflictTerm  Term
	ConflictIndex Index

	// Context is opaque to the transport: ReadIndex round id, or request id.
	Context []byte

	// Snapshot is set on MsgSnap: the metadata of the snapshot the driver
	// streams alongside.
	Snapshot *SnapshotMeta
}

// IsResponse reports whether m answers another message.
func (m *Message) IsResponse() bool {
	switch m.Type {
	case MsgVoteResp, MsgPreVoteResp, MsgAppResp, MsgHeartbeatResp, MsgReadIndexResp:
		return true
	}
	return false
}

// IsPriority reports whether m belongs on the transport's priority lane:
// votes and heartbeats must not queue behind large appends or snapshots.
func (m *Message) IsPriority() bool {
	switch m.Type {
	case MsgVote, MsgVoteResp, MsgPreVote, MsgPreVoteResp, MsgHeartbeat, MsgHeartbeatResp,
		MsgTimeoutNow, MsgReadIndex, MsgReadIndexResp:
		return true
	}
	return false
}
