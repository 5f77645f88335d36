package raft

import "fmt"

// Term is a Raft term number (§5.1). Terms only grow.
type Term uint64

// Index is a position in the replicated log, starting at 1. Index 0 means
// "before the first entry".
type Index uint64

// NodeID identifies a Raft server. It is the agent's node_id, a UUID string
// as in Consul. IDs are never reused, even after removal.
type NodeID string

// None is the empty NodeID: no vote, no known leader.
const None NodeID = ""

// EntryType says how an entry's Data is interpreted.
//
// Values are persisted in the WAL and sent on the wire: only append.
type EntryType uint8

const (
	// EntryNormal carries an opaque command for the state machine.
	EntryNormal EntryType = 1
	// EntryNoop is appended by a new leader (§5.4.2, §6.4); Data is empty.
	EntryNoop EntryType = 2
	// EntryConfig carries an encoded Configuration (see EncodeConfiguration).
	// It takes effect on the node as soon as it is appended, and is rolled
	// back if the entry is truncated (thesis §4.1).
	EntryConfig EntryType = 3
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "Normal"
	case EntryNoop:
		return "Noop"
	case EntryConfig:
		return "Config"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one log entry.
type Entry struct {
	Term  Term
	Index Index
	Type  EntryType
	Data  []byte
}

// Size is the entry's contribution to byte limits (approximate encoded size).
func (e *Entry) Size() uint64 { return uint64(len(e.Data)) + 24 }

// HardState is what must be durable before a node speaks (Figure 2:
// "updated on stable storage before responding to RPCs").
//
// Commit may be persisted lazily, but never ahead of durable entries.
type HardState struct {
	Term   Term
	Vote   NodeID
	Commit Index
}

// IsEmpty reports whether hs is the zero HardState.
func (hs HardState) IsEmpty() bool { return hs == HardState{} }

// Suffrage says whether a server's vote counts.
//
// Values are persisted: only append.
type Suffrage uint8

const (
	// Voter counts toward elections and commit quorums.
	Voter Suffrage = 1
	// Nonvoter receives the log but does not vote; new servers start here
	// and are promoted once caught up.
	Nonvoter Suffrage = 2
)

func (s Suffrage) String() string {
	switch s {
	case Voter:
		return "Voter"
	case Nonvoter:
		return "Nonvoter"
	}
	return fmt.Sprintf("Suffrage(%d)", uint8(s))
}

// Server is one member of a Configuration.
type Server struct {
	ID       NodeID
	Address  string // transport address, e.g. "127.0.0.1:8300"
	Suffrage Suffrage
}

// Configuration is the set of servers. Servers are kept sorted by ID so that
// equal configurations encode to equal bytes.
type Configuration struct {
	Servers []Server
}

// SnapshotMeta describes a snapshot. The core only ever deals in metadata;
// the bytes are streamed by the driver.
type SnapshotMeta struct {
	Index         Index         // last log index covered by the snapshot
	Term          Term          // term of that entry
	Configuration Configuration // latest configuration at or before Index
	ConfigIndex   Index         // index of the entry that carried Configuration
}

// IsEmpty reports whether m describes no snapshot.
func (m SnapshotMeta) IsEmpty() bool { return m.Index == 0 }
