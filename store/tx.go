package store

import (
	"fmt"
	"time"
)

// tx is one command's write: a private version of the tables built from the
// published one. Trees are copied (O(1)) before their first change, so the
// published version stays untouched and a rejected command is rolled back
// by dropping the tx.
type tx struct {
	t     *tables
	index uint64    // the Raft index being applied: every row/table index it sets
	now   time.Time // the leader's clock carried by the command

	copied  uint16   // bit per tree already copied in this tx
	changes []change // what the watches must hear about, in write order
	fireAll bool     // restore: every watch fires
}

// change names one written thing: a key in a watch topic.
type change struct {
	topic topic
	key   string
}

const (
	bitKV = 1 << iota
	bitTombstones
	bitLockDelays
	bitSessions
	bitNodes
	bitServices
	bitChecks
	bitSessionsByNode
	bitSessionKeys
)

func newTx(cur *tables, index uint64, now time.Time) *tx {
	t := *cur
	return &tx{t: &t, index: index, now: now}
}

// mut copies the tree behind bit on its first change in this tx.
func (x *tx) mut(bit uint16) *tables {
	if x.copied&bit == 0 {
		x.copied |= bit
		t := x.t
		switch bit {
		case bitKV:
			t.kv = t.kv.Copy()
		case bitTombstones:
			t.tombstones = t.tombstones.Copy()
		case bitLockDelays:
			t.lockDelays = t.lockDelays.Copy()
		case bitSessions:
			t.sessions = t.sessions.Copy()
		case bitNodes:
			t.nodes = t.nodes.Copy()
		case bitServices:
			t.services = t.services.Copy()
		case bitChecks:
			t.checks = t.checks.Copy()
		case bitSessionsByNode:
			t.sessionsByNode = t.sessionsByNode.Copy()
		case bitSessionKeys:
			t.sessionKeys = t.sessionKeys.Copy()
		default:
			panic(fmt.Sprintf("store: unknown tree bit %#x", bit))
		}
	}
	return x.t
}

// touch records a change for the watches and moves the table's index.
func (x *tx) touch(tbl tableID, tp topic, key string) {
	x.t.index[tbl] = x.index
	x.changes = append(x.changes, change{tp, key})
}

// rejectError is the error of a refused command; errors.Is(err,
// ErrRejected) holds.
type rejectError struct{ what string }

func (e *rejectError) Error() string        { return "store: rejected: " + e.what }
func (e *rejectError) Is(target error) bool { return target == ErrRejected }

func rejected(format string, args ...any) error {
	return &rejectError{what: fmt.Sprintf(format, args...)}
}

// apply runs op; on a rejection (res.Err, or txn errors) the caller drops x.
func (x *tx) apply(op Op, res *Result) {
	switch op := op.(type) {
	case *KVOp:
		if op.Verb.isRead() {
			res.Err = rejected("verb %v is only valid in a txn", op.Verb)
			return
		}
		res.OK, res.Err = x.kvWrite(op)
	case *Txn:
		res.Txn = x.txn(op.Ops)
		res.OK = len(res.Txn.Errors) == 0
	case *SessionCreate:
		res.Err = x.sessionCreate(op.Session)
		res.OK = res.Err == nil
	case *SessionDestroy:
		x.sessionDestroy(op.ID)
		res.OK = true
	case *Register:
		res.Err = x.register(op)
		res.OK = res.Err == nil
	case *Deregister:
		x.deregister(op)
		res.OK = true
	case *TombstoneReap:
		x.reap(op.Index)
		res.OK = true
	case *RestoreState:
		res.Err = x.restoreState(op.Data)
		res.OK = res.Err == nil
	case *RestoreChunk:
		res.Err = x.restoreChunk(op)
		res.OK = res.Err == nil
	case *RestoreCommit:
		res.Err = x.restoreCommit(op)
		res.OK = res.Err == nil
	case *CASet:
		res.Err = x.caSet(op)
		res.OK = res.Err == nil
	case *AutopilotSet:
		res.OK = x.autopilotSet(op)
	default:
		panic(fmt.Sprintf("store: unhandled op %T", op))
	}
}
