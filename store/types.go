package store

import (
	"errors"
	"fmt"
	"time"
)

// KVEntry is one key/value row. The HTTP layer maps it 1:1 onto Consul's
// api.KVPair JSON (same field names).
//
// Invariant: CreateIndex <= ModifyIndex; Session != "" only while the session
// exists (destroying a session releases or deletes its keys in the same
// apply).
type KVEntry struct {
	Key         string
	CreateIndex uint64 // Raft index of the write that created the key
	ModifyIndex uint64 // Raft index of the last write to the key
	LockIndex   uint64 // number of times a new holder acquired the key
	Flags       uint64 // opaque to the store
	Value       []byte // shared with the store: read-only for callers
	Session     string // holder of the lock; "" when unlocked
}

// SessionBehavior says what happens to a session's held keys when it is
// invalidated.
type SessionBehavior string

const (
	// BehaviorRelease releases the held locks (Consul's default).
	BehaviorRelease SessionBehavior = "release"
	// BehaviorDelete deletes the held keys (ephemeral keys).
	BehaviorDelete SessionBehavior = "delete"
)

// ServiceCheck links a session to a service-level health check.
type ServiceCheck struct {
	ID        string
	Namespace string
}

// Session is one session row (Consul's structs.Session, without ACL fields).
type Session struct {
	ID   string // chosen by the leader (a UUID), carried in the command
	Name string
	Node string // must be a registered node at create time
	// NodeChecks are check IDs on Node whose going critical (or being
	// deregistered) invalidates the session. On create, nil means Consul's
	// default ["serfHealth"] when the node has that check, else none; an
	// empty non-nil slice means none.
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	LockDelay     time.Duration // how long released keys stay un-acquirable
	Behavior      SessionBehavior
	TTL           string    // as given ("" = no TTL); timers are the leader's business
	CreateTime    time.Time // the leader's clock when it proposed the create
	CreateIndex   uint64
	ModifyIndex   uint64
}

// HealthStatus is a check's state, spelled as in Consul's JSON.
type HealthStatus string

const (
	HealthPassing  HealthStatus = "passing"
	HealthWarning  HealthStatus = "warning"
	HealthCritical HealthStatus = "critical"
)

// SerfCheckID is the node-level gossip health check's ID, and SerfCheckName
// its name, as Consul spells them.
const (
	SerfCheckID   = "serfHealth"
	SerfCheckName = "Serf Health Status"
)

// Node is a catalog node row.
type Node struct {
	ID              string // node UUID, may be ""
	Node            string // node name, the row's key
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string // e.g. "lan", "wan"; read-only for callers
	Meta            map[string]string // read-only for callers
	CreateIndex     uint64
	ModifyIndex     uint64
}

// Service is a catalog service instance row, keyed by (Node, ID). Minimal for
// now; the catalog issue extends it (append fields at the end of the
// encoding).
type Service struct {
	Node        string
	ID          string
	Service     string
	Tags        []string
	Address     string
	Port        int
	Meta        map[string]string
	CreateIndex uint64
	ModifyIndex uint64
}

// Check is a catalog health check row, keyed by (Node, CheckID).
type Check struct {
	Node        string
	CheckID     string
	Name        string
	Status      HealthStatus
	Notes       string
	Output      string
	ServiceID   string // "" for node-level checks
	ServiceName string
	Type        string // e.g. "ttl", "http"; "" for serfHealth
	CreateIndex uint64
	ModifyIndex uint64
}

// Result is what Store.Apply (and FSM.Apply) returns for every command.
type Result struct {
	// Index is the Raft index the command was applied at.
	Index uint64
	// OK is the outcome of a conditional KV write (cas, acquire, release,
	// delete-cas); true for unconditional writes that succeeded.
	OK bool
	// Err is set when the command was rejected and changed nothing: an
	// invalid session, a missing node or check, a command that does not
	// decode. Errors wrap ErrRejected (or ErrDecode).
	Err error
	// Txn is set for a Txn command.
	Txn *TxnResult
}

// TxnResult is a transaction's outcome: either Results (applied) or Errors
// (rolled back, nothing changed).
type TxnResult struct {
	Results []TxnOpResult
	Errors  []TxnError
}

// TxnOpResult is one operation's result. Write verbs return the entry
// without its Value; get and get-tree return values. Delete verbs produce
// no result.
type TxnOpResult struct {
	KV *KVEntry
}

// TxnError is Consul's structs.TxnError: the failing operation's position in
// the request and the reason.
type TxnError struct {
	OpIndex int
	What    string
}

func (e TxnError) Error() string { return fmt.Sprintf("op %d: %s", e.OpIndex, e.What) }

// Stats are the store's counters, monotonically increasing.
type Stats struct {
	Applies      uint64 // commands applied (including rejected ones)
	WatchFires   uint64 // watch channels closed by writes or restores
	Wakeups      uint64 // WatchSet.Wait calls that returned because a watch fired
	WatchesAdded uint64 // watch channels handed to readers (new or shared)
}

var (
	// ErrRejected is wrapped by Result.Err when a command is refused by
	// the state (e.g. invalid session).
	ErrRejected = errors.New("store: rejected")
	// ErrDecode is wrapped by every command or snapshot decoding error.
	ErrDecode = errors.New("store: decode")
)
