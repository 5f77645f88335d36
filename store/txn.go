package store

import (
	"errors"
	"fmt"
	"time"
)

// txn applies ops in order within x. Every op runs even after a failure so
// the caller gets all errors (as Consul's txnDispatch); any error means the
// caller drops x (rollback). Messages are Consul's.
func (x *tx) txn(ops []KVOp) *TxnResult {
	res := &TxnResult{}
	for i := range ops {
		op := &ops[i]
		out, err := x.txnOp(op)
		if err != nil {
			res.Errors = append(res.Errors, TxnError{OpIndex: i, What: err.Error()})
			continue
		}
		res.Results = append(res.Results, out...)
	}
	if len(res.Errors) > 0 {
		res.Results = nil
	}
	return res
}

// txnOp runs one op and returns its result entries (values only for reads).
func (x *tx) txnOp(op *KVOp) ([]TxnOpResult, error) {
	key := op.Key
	switch op.Verb {
	case KVSet, KVCAS, KVLock, KVUnlock:
		ok, err := x.kvWrite(op)
		if err != nil {
			var re *rejectError
			if errors.As(err, &re) {
				return nil, errors.New(re.what) // without the "store: rejected" prefix
			}
			return nil, err
		}
		if !ok {
			switch op.Verb {
			case KVCAS:
				return nil, fmt.Errorf("failed to set key %q, index is stale", key)
			case KVLock:
				return nil, fmt.Errorf("failed to lock key %q, lock is already held", key)
			default:
				return nil, fmt.Errorf("failed to unlock key %q, lock isn't held, or is held by another session", key)
			}
		}
		return x.entryResult(key, false), nil
	case KVGet:
		if _, found := x.kvGet(key); !found {
			return nil, fmt.Errorf("key %q doesn't exist", key)
		}
		return x.entryResult(key, true), nil
	case KVGetOrEmpty:
		if _, found := x.kvGet(key); !found {
			return []TxnOpResult{{KV: &KVEntry{Key: key}}}, nil
		}
		return x.entryResult(key, true), nil
	case KVGetTree:
		var out []TxnOpResult
		ascendPrefix(x.t.kv, &KVEntry{Key: key}, kvKey, key, func(e *KVEntry) bool {
			cp := *e
			out = append(out, TxnOpResult{KV: &cp})
			return true
		})
		return out, nil
	case KVCheckIndex:
		e, found := x.kvGet(key)
		if !found {
			return nil, fmt.Errorf("failed to check index, key %q doesn't exist", key)
		}
		if e.ModifyIndex != op.Index {
			return nil, fmt.Errorf("failed index check for key %q, current modify index %d != %d", key, e.ModifyIndex, op.Index)
		}
		return x.entryResult(key, false), nil
	case KVCheckSession:
		e, found := x.kvGet(key)
		if !found {
			return nil, fmt.Errorf("failed to check session, key %q doesn't exist", key)
		}
		if e.Session != op.Session {
			return nil, fmt.Errorf("failed session check for key %q, current session %q != %q", key, e.Session, op.Session)
		}
		return x.entryResult(key, false), nil
	case KVCheckNotExists:
		if _, found := x.kvGet(key); found {
			return nil, fmt.Errorf("key %q exists", key)
		}
		return nil, nil
	case KVDelete:
		x.kvDelete(key)
		return nil, nil
	case KVDeleteTree:
		x.kvDeleteTree(key)
		return nil, nil
	case KVDeleteCAS:
		ok, _ := x.kvWrite(op)
		if !ok {
			return nil, fmt.Errorf("failed to delete key %q, index is stale", key)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown KV verb %v", op.Verb)
}

// entryResult returns key's current entry as a one-element result; writes
// and checks return it without the value, as Consul.
func (x *tx) entryResult(key string, withValue bool) []TxnOpResult {
	e, found := x.kvGet(key)
	if !found {
		return nil
	}
	cp := *e
	if !withValue {
		cp.Value = nil
	}
	return []TxnOpResult{{KV: &cp}}
}

// TxnRead evaluates a read-only transaction (every verb a read) on the
// current state without going through Raft (?stale / local reads). It
// returns nil, false if some op writes.
func (s *Store) TxnRead(ops []KVOp) (uint64, *TxnResult, bool) {
	for i := range ops {
		if !ops[i].Verb.isRead() {
			return 0, nil, false
		}
	}
	t := s.state.Load()
	x := newTx(t, t.applied, time.Time{}) // reads never consult the clock
	return atLeastOne(t.applied), x.txn(ops), true
}
