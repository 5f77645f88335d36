package store

import (
	"fmt"
	"time"
)

// Command wire format (the Data of a raft.EntryNormal entry):
//
//	+---------+---------+-----------------+------------------+
//	| version | type    | now varint      | body (per type)  |
//	+---------+---------+-----------------+------------------+
//	  1 byte    1 byte    leader's clock,   fields in order,
//	  = 1       CmdType   Unix ns (0=unset) nothing may follow
//
// Bodies use the primitives of codec.go and the rows of rows.go:
//
//	CmdKV            KVOp: verb byte | key | value bytes | flags | index | session
//	CmdTxn           count | KVOp * count
//	CmdSessionCreate session row (indexes and CreateTime ignored)
//	CmdSessionDestroy id
//	CmdRegister      node row | hasService bool | [service row] | count | check row * count | skipNodeUpdate bool
//	CmdDeregister    node | serviceID | checkID
//	CmdTombstoneReap index
//	CmdRestore       snapshot bytes (the format of snapshot.go)
//	CmdRestoreChunk  id | offset | total | data bytes (restore.go)
//	CmdRestoreCommit id | size | abort bool
//	CmdCASet         index | CA config row | count | CA root row * count (ca.go)
//	CmdAutopilotSet  cas bool | index | autopilot row (autopilot.go)
//
// Compatibility: the version byte changes with any layout change; CmdType
// and KVVerb values are append-only.

// commandVersion is the first byte of every encoded command.
const commandVersion byte = 1

// CmdType identifies a command. Values are persisted in the Raft log: only
// append.
type CmdType uint8

const (
	CmdKV             CmdType = 1
	CmdTxn            CmdType = 2
	CmdSessionCreate  CmdType = 3
	CmdSessionDestroy CmdType = 4
	CmdRegister       CmdType = 5
	CmdDeregister     CmdType = 6
	CmdTombstoneReap  CmdType = 7
	CmdRestore        CmdType = 8
	CmdRestoreChunk   CmdType = 9
	CmdRestoreCommit  CmdType = 10
	CmdCASet          CmdType = 11
	CmdAutopilotSet   CmdType = 12
)

func (t CmdType) String() string {
	switch t {
	case CmdKV:
		return "KV"
	case CmdTxn:
		return "Txn"
	case CmdSessionCreate:
		return "SessionCreate"
	case CmdSessionDestroy:
		return "SessionDestroy"
	case CmdRegister:
		return "Register"
	case CmdDeregister:
		return "Deregister"
	case CmdTombstoneReap:
		return "TombstoneReap"
	case CmdRestore:
		return "Restore"
	case CmdRestoreChunk:
		return "RestoreChunk"
	case CmdRestoreCommit:
		return "RestoreCommit"
	case CmdCASet:
		return "CASet"
	case CmdAutopilotSet:
		return "AutopilotSet"
	}
	return fmt.Sprintf("CmdType(%d)", uint8(t))
}

// Op is the body of a command: one of *KVOp, *Txn, *SessionCreate,
// *SessionDestroy, *Register, *Deregister, *TombstoneReap, *RestoreState,
// *RestoreChunk, *RestoreCommit, *CASet, *AutopilotSet.
type Op interface {
	Type() CmdType
	encode(e *encoder)
}

// Command is a decoded command.
type Command struct {
	// Now is the leader's clock when it proposed the command. Apply uses it
	// (never its own clock) for session CreateTime and lock-delay expiry
	// checks and settings, so replicas agree. The zero Time disables lock
	// delays set by this command.
	Now time.Time
	Op  Op
}

// EncodeCommand returns the log-entry bytes of op proposed at leader time now.
func EncodeCommand(now time.Time, op Op) []byte {
	e := &encoder{b: make([]byte, 0, 64)}
	e.byte1(commandVersion)
	e.byte1(byte(op.Type()))
	e.time(now)
	op.encode(e)
	return e.b
}

// DecodeCommand parses b. It never panics; errors wrap ErrDecode.
func DecodeCommand(b []byte) (Command, error) {
	d := &decoder{b: b}
	if v := d.byte1(); d.err == nil && v != commandVersion {
		return Command{}, fmt.Errorf("%w: command version %d", ErrDecode, v)
	}
	t := CmdType(d.byte1())
	now := d.time()
	if d.err != nil {
		return Command{}, d.err
	}
	var op Op
	switch t {
	case CmdKV:
		op = d.kvOp()
	case CmdTxn:
		n := d.length(maxListLen, 6)
		txn := &Txn{Ops: make([]KVOp, 0, n)}
		for i := 0; i < n && d.err == nil; i++ {
			txn.Ops = append(txn.Ops, *d.kvOp())
		}
		op = txn
	case CmdSessionCreate:
		op = &SessionCreate{Session: *d.session()}
	case CmdSessionDestroy:
		op = &SessionDestroy{ID: d.str()}
	case CmdRegister:
		r := &Register{Node: *d.node()}
		if d.bool1() {
			r.Service = d.service()
		}
		if n := d.length(maxListLen, 11); n > 0 {
			r.Checks = make([]Check, 0, n)
			for i := 0; i < n && d.err == nil; i++ {
				r.Checks = append(r.Checks, *d.check())
			}
		}
		r.SkipNodeUpdate = d.bool1()
		op = r
	case CmdDeregister:
		op = &Deregister{Node: d.str(), ServiceID: d.str(), CheckID: d.str()}
	case CmdTombstoneReap:
		op = &TombstoneReap{Index: d.uvarint()}
	case CmdRestore:
		op = &RestoreState{Data: d.bytes(maxValueLen)}
	case CmdRestoreChunk:
		op = &RestoreChunk{ID: d.uvarint(), Offset: d.uvarint(), Total: d.uvarint(), Data: d.bytes(maxValueLen)}
	case CmdRestoreCommit:
		op = &RestoreCommit{ID: d.uvarint(), Size: d.uvarint(), Abort: d.bool1()}
	case CmdCASet:
		op = d.caSet()
	case CmdAutopilotSet:
		op = d.autopilotSet()
	default:
		return Command{}, fmt.Errorf("%w: unknown command type %d", ErrDecode, uint8(t))
	}
	d.done()
	if d.err != nil {
		return Command{}, fmt.Errorf("%w (command %v)", d.err, t)
	}
	return Command{Now: now, Op: op}, nil
}

// KVVerb is a KV operation, named as Consul's txn verbs. Values are
// persisted: only append.
type KVVerb uint8

const (
	KVSet            KVVerb = 1  // write Value and Flags; keeps a lock holder
	KVCAS            KVVerb = 2  // set only if ModifyIndex == Index (0: only if absent)
	KVLock           KVVerb = 3  // acquire with Session, writing Value and Flags
	KVUnlock         KVVerb = 4  // release by Session, writing Value and Flags
	KVGet            KVVerb = 5  // txn only
	KVGetTree        KVVerb = 6  // txn only
	KVGetOrEmpty     KVVerb = 7  // txn only
	KVCheckIndex     KVVerb = 8  // txn only
	KVCheckSession   KVVerb = 9  // txn only
	KVCheckNotExists KVVerb = 10 // txn only
	KVDelete         KVVerb = 11
	KVDeleteTree     KVVerb = 12 // Key is the prefix
	KVDeleteCAS      KVVerb = 13 // delete only if ModifyIndex == Index
)

var kvVerbNames = [...]string{
	KVSet: "set", KVCAS: "cas", KVLock: "lock", KVUnlock: "unlock",
	KVGet: "get", KVGetTree: "get-tree", KVGetOrEmpty: "get-or-empty",
	KVCheckIndex: "check-index", KVCheckSession: "check-session",
	KVCheckNotExists: "check-not-exists", KVDelete: "delete",
	KVDeleteTree: "delete-tree", KVDeleteCAS: "delete-cas",
}

// String returns Consul's spelling of the verb.
func (v KVVerb) String() string {
	if int(v) < len(kvVerbNames) && kvVerbNames[v] != "" {
		return kvVerbNames[v]
	}
	return fmt.Sprintf("KVVerb(%d)", uint8(v))
}

// ParseKVVerb maps Consul's verb spelling to a KVVerb.
func ParseKVVerb(s string) (KVVerb, bool) {
	for i, n := range kvVerbNames {
		if n != "" && n == s {
			return KVVerb(i), true
		}
	}
	return 0, false
}

func (v KVVerb) valid() bool { return v >= KVSet && v <= KVDeleteCAS }

// isRead reports verbs that change nothing.
func (v KVVerb) isRead() bool { return v >= KVGet && v <= KVCheckNotExists }

// KVOp is one KV operation: a command by itself (write verbs only) or an
// element of a Txn.
type KVOp struct {
	Verb    KVVerb
	Key     string // the prefix for get-tree and delete-tree
	Value   []byte
	Flags   uint64
	Index   uint64 // the expected ModifyIndex for cas, delete-cas, check-index
	Session string // for lock, unlock, check-session
}

func (*KVOp) Type() CmdType { return CmdKV }

func (o *KVOp) encode(e *encoder) {
	e.byte1(byte(o.Verb))
	e.str(o.Key)
	e.bytes(o.Value)
	e.uvarint(o.Flags)
	e.uvarint(o.Index)
	e.str(o.Session)
}

func (d *decoder) kvOp() *KVOp {
	o := &KVOp{Verb: KVVerb(d.byte1()), Key: d.str(), Value: d.bytes(maxValueLen),
		Flags: d.uvarint(), Index: d.uvarint(), Session: d.str()}
	if d.err == nil && !o.Verb.valid() {
		d.fail("unknown KV verb %d", uint8(o.Verb))
	}
	return o
}

// Txn is an atomic list of KV operations: all apply or none does.
type Txn struct{ Ops []KVOp }

func (*Txn) Type() CmdType { return CmdTxn }

func (t *Txn) encode(e *encoder) {
	e.uvarint(uint64(len(t.Ops)))
	for i := range t.Ops {
		t.Ops[i].encode(e)
	}
}

// SessionCreate creates Session. The leader chooses Session.ID; CreateTime
// is set from Command.Now; indexes are ignored.
type SessionCreate struct{ Session Session }

func (*SessionCreate) Type() CmdType       { return CmdSessionCreate }
func (s *SessionCreate) encode(e *encoder) { e.session(&s.Session) }

// SessionDestroy destroys a session (explicitly, or on TTL expiry decided by
// the leader). Destroying an unknown session is a no-op that succeeds.
type SessionDestroy struct{ ID string }

func (*SessionDestroy) Type() CmdType       { return CmdSessionDestroy }
func (s *SessionDestroy) encode(e *encoder) { e.str(s.ID) }

// Register upserts a node and optionally one service and some checks on it
// (Consul's catalog register). Rows' Node fields are taken from Node.Node.
// A check registered critical invalidates the sessions linked to it.
type Register struct {
	Node           Node
	Service        *Service
	Checks         []Check
	SkipNodeUpdate bool // leave an existing node row untouched
}

func (*Register) Type() CmdType { return CmdRegister }

func (r *Register) encode(e *encoder) {
	e.node(&r.Node)
	e.bool1(r.Service != nil)
	if r.Service != nil {
		e.service(r.Service)
	}
	e.uvarint(uint64(len(r.Checks)))
	for i := range r.Checks {
		e.check(&r.Checks[i])
	}
	e.bool1(r.SkipNodeUpdate)
}

// Deregister removes a check (CheckID set), a service and its checks
// (ServiceID set), or the node with everything on it, destroying the
// sessions that depended on what was removed.
type Deregister struct {
	Node      string
	ServiceID string
	CheckID   string
}

func (*Deregister) Type() CmdType { return CmdDeregister }

func (r *Deregister) encode(e *encoder) {
	e.str(r.Node)
	e.str(r.ServiceID)
	e.str(r.CheckID)
}

// TombstoneReap removes the graveyard's tombstones with Index <= Index. The
// leader proposes it some time after the deletes (Consul's tombstone_ttl).
type TombstoneReap struct{ Index uint64 }

func (*TombstoneReap) Type() CmdType       { return CmdTombstoneReap }
func (r *TombstoneReap) encode(e *encoder) { e.uvarint(r.Index) }

// RestoreState replaces the whole state with a snapshot (Store.Snapshot's
// bytes), through Raft, so every server ends identical. Indexes move
// forward: every table index and every row's ModifyIndex becomes the
// command's index, and every watch fires.
type RestoreState struct{ Data []byte }

func (*RestoreState) Type() CmdType       { return CmdRestore }
func (r *RestoreState) encode(e *encoder) { e.bytes(r.Data) }
