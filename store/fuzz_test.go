package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// seedCommands covers every command type and KV verb.
func seedCommands() [][]byte {
	var ops []Op
	for v := KVSet; v <= KVDeleteCAS; v++ {
		ops = append(ops, &KVOp{Verb: v, Key: "k/" + v.String(), Value: []byte("v"), Flags: 3, Index: 2, Session: "s1"})
	}
	ops = append(ops,
		&Txn{Ops: []KVOp{{Verb: KVSet, Key: "a"}, {Verb: KVGetTree, Key: "a"}, {Verb: KVLock, Key: "l", Session: "s1"}}},
		&SessionCreate{Session: Session{ID: "s1", Node: "n1", LockDelay: time.Second, TTL: "10s"}},
		&SessionCreate{Session: Session{ID: "s2", Node: "n1", NodeChecks: []string{}, ServiceChecks: []ServiceCheck{{ID: "c"}}, Behavior: BehaviorDelete}},
		&SessionDestroy{ID: "s1"},
		&Register{Node: Node{Node: "n1", TaggedAddresses: map[string]string{"lan": "a", "wan": "b"}},
			Checks: []Check{{CheckID: SerfCheckID, Status: HealthCritical}}},
		&Register{Node: Node{Node: "n1"}, Service: &Service{Service: "web", Tags: []string{"x"}, Port: 80}, SkipNodeUpdate: true},
		&Deregister{Node: "n1"},
		&Deregister{Node: "n1", CheckID: SerfCheckID},
		&TombstoneReap{Index: 7},
		&RestoreChunk{ID: 9, Offset: 0, Total: 4, Data: []byte("ab")},
		&RestoreChunk{ID: 9, Offset: 2, Total: 4, Data: []byte("cd")},
		&RestoreCommit{ID: 9, Size: 4, Abort: true},
		&CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true)}},
		&AutopilotSet{CAS: true, Config: testAutopilot()},
	)
	var out [][]byte
	for _, op := range ops {
		out = append(out, EncodeCommand(t0, op))
	}
	h := newHarness(nil)
	out = append(out, EncodeCommand(t0, &RestoreState{Data: snapshotOf(h.s)}))
	return out
}

func snapshotOf(s *Store) []byte {
	var buf bytes.Buffer
	if _, err := s.Snapshot().WriteTo(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// fuzzStore is a store with some state for the fuzzed commands to hit.
func fuzzStore() *Store {
	s := New()
	for i, cmd := range seedCommands()[:KVDeleteCAS] {
		s.Apply(uint64(i+1), cmd)
	}
	s.Apply(100, EncodeCommand(t0, &Register{Node: Node{Node: "n1"}, Checks: []Check{{CheckID: SerfCheckID, Status: HealthPassing}}}))
	s.Apply(101, EncodeCommand(t0, &SessionCreate{Session: Session{ID: "s1", Node: "n1"}}))
	s.Apply(102, EncodeCommand(t0, &KVOp{Verb: KVLock, Key: "l", Session: "s1"}))
	return s
}

// FuzzDecodeCommand: decoding never panics; what decodes re-encodes to
// something that decodes to the same command; applying it never panics and
// keeps the store's invariants (replicas agree).
func FuzzDecodeCommand(f *testing.F) {
	for _, b := range seedCommands() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		again, err := DecodeCommand(EncodeCommand(c.Now, c.Op))
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the command:\n%+v\n%+v", c, again)
		}
		a, z := fuzzStore(), fuzzStore()
		ra, rz := a.Apply(200, b), z.Apply(200, b)
		if !reflect.DeepEqual(ra, rz) || a.Hash() != z.Hash() {
			t.Fatalf("replicas disagree")
		}
	})
}

// FuzzRestore: a snapshot reader never panics, and whatever it accepts
// re-encodes to the same state.
func FuzzRestore(f *testing.F) {
	f.Add(snapshotOf(fuzzStore()))
	f.Add(snapshotOf(New()))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New()
		if err := s.Restore(bytes.NewReader(b)); err != nil {
			return
		}
		s2 := New()
		if err := s2.Restore(bytes.NewReader(snapshotOf(s))); err != nil {
			t.Fatalf("re-encoded snapshot does not restore: %v", err)
		}
		if s.Hash() != s2.Hash() {
			t.Fatalf("hash changed through a round trip")
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpus
// (STORE_WRITE_SEEDS=1 go test ./store -run TestWriteFuzzSeeds).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("STORE_WRITE_SEEDS") == "" {
		t.Skip("set STORE_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(target string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDecodeCommand", seedCommands())
	write("FuzzRestore", [][]byte{snapshotOf(fuzzStore()), snapshotOf(New())})
}
