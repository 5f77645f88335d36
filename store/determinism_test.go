package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Small name spaces so that commands collide (same keys, same sessions).
var (
	genKey     = rapid.SampledFrom([]string{"a", "a/1", "a/2", "a/b/c", "b/1", "b/2", "c"})
	genPrefix  = rapid.SampledFrom([]string{"", "a", "a/", "b/", "zz"})
	genSession = rapid.SampledFrom([]string{"s1", "s2", "s3", "s4"})
	genNode    = rapid.SampledFrom([]string{"n1", "n2"})
	genStatus  = rapid.SampledFrom([]HealthStatus{HealthPassing, HealthWarning, HealthCritical})
)

func genKVOp(t *rapid.T, txn bool) KVOp {
	verbs := []KVVerb{KVSet, KVCAS, KVLock, KVUnlock, KVDelete, KVDeleteTree, KVDeleteCAS}
	if txn {
		verbs = append(verbs, KVGet, KVGetTree, KVGetOrEmpty, KVCheckIndex, KVCheckSession, KVCheckNotExists)
	}
	op := KVOp{
		Verb:    rapid.SampledFrom(verbs).Draw(t, "verb"),
		Key:     genKey.Draw(t, "key"),
		Value:   []byte(rapid.StringN(0, 4, 4).Draw(t, "value")),
		Flags:   rapid.Uint64Range(0, 3).Draw(t, "flags"),
		Index:   rapid.Uint64Range(0, 40).Draw(t, "index"),
		Session: genSession.Draw(t, "session"),
	}
	if op.Verb == KVDeleteTree || op.Verb == KVGetTree {
		op.Key = genPrefix.Draw(t, "prefix")
	}
	return op
}

func genOp(t *rapid.T) Op {
	switch rapid.IntRange(0, 11).Draw(t, "kind") {
	case 0, 1, 2:
		op := genKVOp(t, false)
		return &op
	case 3:
		n := rapid.IntRange(1, 4).Draw(t, "txnLen")
		txn := &Txn{}
		for range n {
			txn.Ops = append(txn.Ops, genKVOp(t, true))
		}
		return txn
	case 4:
		s := Session{ID: genSession.Draw(t, "id"), Node: genNode.Draw(t, "node"),
			LockDelay: time.Duration(rapid.IntRange(0, 3).Draw(t, "delay")) * time.Second,
			Behavior:  rapid.SampledFrom([]SessionBehavior{BehaviorRelease, BehaviorDelete}).Draw(t, "behavior")}
		return &SessionCreate{Session: s}
	case 5:
		return &SessionDestroy{ID: genSession.Draw(t, "id")}
	case 6:
		return &Register{Node: Node{Node: genNode.Draw(t, "node"), Address: "10.0.0.1"},
			Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: genStatus.Draw(t, "status")}}}
	case 7:
		if rapid.Bool().Draw(t, "whole") {
			return &Deregister{Node: genNode.Draw(t, "node")}
		}
		return &Deregister{Node: genNode.Draw(t, "node"), CheckID: SerfCheckID}
	case 8:
		return &TombstoneReap{Index: rapid.Uint64Range(0, 40).Draw(t, "reap")}
	case 9:
		// Staged restore pieces (the stage must survive the snapshot cut).
		id := rapid.Uint64Range(1, 2).Draw(t, "restoreID")
		if rapid.IntRange(0, 3).Draw(t, "commit") == 0 {
			return &RestoreCommit{ID: id, Size: rapid.Uint64Range(0, 4).Draw(t, "size"), Abort: rapid.Bool().Draw(t, "abort")}
		}
		return &RestoreChunk{ID: id, Offset: rapid.Uint64Range(0, 3).Draw(t, "offset"), Total: 4,
			Data: []byte(rapid.StringN(1, 1, 1).Draw(t, "chunk"))}
	case 11:
		// CA bootstrap or rotation: index 0 (bootstrap) half the time.
		op := &CASet{Config: testCAConfig()}
		if rapid.Bool().Draw(t, "caRotate") {
			op.Index = rapid.Uint64Range(1, 60).Draw(t, "caIndex")
		}
		ids := []string{"ab:01", "ab:02", "ab:03"}
		for i := range rapid.IntRange(1, 2).Draw(t, "caRoots") {
			op.Roots = append(op.Roots, testCARoot(ids[i+rapid.IntRange(0, 1).Draw(t, "caID")], rapid.Bool().Draw(t, "caActive")))
		}
		return op
	default:
		op := KVOp{Verb: KVLock, Key: genKey.Draw(t, "key"), Session: genSession.Draw(t, "session")}
		return &op
	}
}

// Two replicas apply the same random commands; one of them is rebuilt from
// a snapshot halfway (and another restored through the RestoreState
// path is checked to at least apply). Equal applied index => equal hash,
// and the cross-table invariants hold after every step.
func TestDeterminism(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		cut := rapid.IntRange(0, n).Draw(t, "cut")
		a, b := New(), New()
		now := t0
		for i := 1; i <= n; i++ {
			now = now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "dt")) * time.Millisecond)
			cmd := EncodeCommand(now, genOp(t))
			ra := a.Apply(uint64(i), cmd)
			rb := b.Apply(uint64(i), cmd)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("results differ at %d: %+v vs %+v", i, ra, rb)
			}
			checkInvariants(t, a)
			if i == cut {
				var buf bytes.Buffer
				if _, err := b.Snapshot().WriteTo(&buf); err != nil {
					t.Fatal(err)
				}
				b = New()
				if err := b.Restore(&buf); err != nil {
					t.Fatal(err)
				}
			}
			if a.Hash() != b.Hash() {
				t.Fatalf("hash differs at %d (cut %d)", i, cut)
			}
		}
	})
}

// checkInvariants: every held key's session exists and indexes are sane.
func checkInvariants(t *rapid.T, s *Store) {
	st := s.state.Load()
	st.kv.Scan(func(e *KVEntry) bool {
		if e.CreateIndex > e.ModifyIndex || e.ModifyIndex > st.applied {
			t.Fatalf("bad indexes %+v (applied %d)", e, st.applied)
		}
		if e.Session != "" {
			if _, ok := st.sessions.Get(&Session{ID: e.Session}); !ok {
				t.Fatalf("key %q held by missing session %q", e.Key, e.Session)
			}
			if _, ok := st.sessionKeys.Get(pair{e.Session, e.Key}); !ok {
				t.Fatalf("key %q missing from session index", e.Key)
			}
		}
		return true
	})
	if st.sessionKeys.Len() > st.kv.Len() {
		t.Fatalf("session index has %d rows for %d keys", st.sessionKeys.Len(), st.kv.Len())
	}
	st.sessions.Scan(func(v *Session) bool {
		if _, ok := st.nodes.Get(&Node{Node: v.Node}); !ok {
			t.Fatalf("session %q on missing node %q", v.ID, v.Node)
		}
		return true
	})
	if (st.caConfig == nil) != (len(st.caRoots) == 0) {
		t.Fatalf("CA config %v with %d roots", st.caConfig, len(st.caRoots))
	}
	active := 0
	for _, r := range st.caRoots {
		if r.Active {
			active++
		}
	}
	if st.caConfig != nil && active != 1 {
		t.Fatalf("%d active CA roots", active)
	}
	for i, idx := range st.index {
		if idx > st.applied {
			t.Fatalf("table %d index %d > applied %d", i, idx, st.applied)
		}
	}
}
