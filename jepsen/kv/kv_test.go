package kv

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{Op: OpPut, Key: "k", Value: "v", ReqID: 7},
		{Op: OpCAS, Key: "", Value: "x", Expected: "y", ReqID: 1 << 40},
		{Op: OpDelete, Key: "long key"},
	} {
		got, err := Decode(c.Encode())
		if err != nil || got != c {
			t.Fatalf("round trip %+v: %+v %v", c, got, err)
		}
	}
	if _, err := Decode([]byte{2, 1, 5, 'a'}); err == nil {
		t.Fatalf("truncated command decoded")
	}
}

func TestSnapshotRestoreHash(t *testing.T) {
	a := NewStore()
	a.Apply(Command{Op: OpPut, Key: "b", Value: "2"})
	a.Apply(Command{Op: OpPut, Key: "a", Value: "1"})
	if !a.Apply(Command{Op: OpCAS, Key: "a", Expected: "1", Value: "3"}).OK {
		t.Fatal("cas on matching value failed")
	}
	b := NewStore()
	if err := b.Restore(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() || b.Get("a").Value != "3" {
		t.Fatalf("restore differs")
	}
}

func op(client int, in Input, call, ret int64, out Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret, Output: out}
}

func TestModel(t *testing.T) {
	put := func(k, v string) Input { return Input{Op: OpPut, Key: k, Value: v} }
	get := Input{Op: OpGet, Key: "x"}
	cases := []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"read own write", []porcupine.Operation{
			op(0, put("x", "1"), 0, 10, Output{Result: Result{OK: true}}),
			op(1, get, 20, 30, Output{Result: Result{Value: "1", Found: true}}),
		}, true},
		{"stale read", []porcupine.Operation{
			op(0, put("x", "1"), 0, 10, Output{Result: Result{OK: true}}),
			op(0, put("x", "2"), 11, 15, Output{Result: Result{OK: true}}),
			op(1, get, 20, 30, Output{Result: Result{Value: "1", Found: true}}),
		}, false},
		{"lost acknowledged write", []porcupine.Operation{
			op(0, put("x", "1"), 0, 10, Output{Result: Result{OK: true}}),
			op(1, get, 20, 30, Output{}),
		}, false},
		{"unknown write may apply", []porcupine.Operation{
			op(0, put("x", "1"), 0, math.MaxInt64, Output{Unknown: true}),
			op(1, get, 20, 30, Output{Result: Result{Value: "1", Found: true}}),
		}, true},
		{"unknown write may not apply", []porcupine.Operation{
			op(0, put("x", "1"), 0, math.MaxInt64, Output{Unknown: true}),
			op(1, get, 20, 30, Output{}),
		}, true},
		{"cas ok wrong", []porcupine.Operation{
			op(0, Input{Op: OpCAS, Key: "x", Expected: "1", Value: "2"}, 0, 10, Output{Result: Result{OK: true}}),
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := porcupine.CheckOperationsTimeout(Model, tc.h, 5*time.Second)
			if (res == porcupine.Ok) != tc.ok {
				t.Fatalf("got %v, want ok=%v", res, tc.ok)
			}
		})
	}
}
