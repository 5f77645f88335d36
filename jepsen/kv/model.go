package kv

import (
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Input is a history operation's call: the command (Op, Key, Value,
// Expected).
type Input struct {
	Op       Op
	Key      string
	Value    string
	Expected string
}

// Output is a history operation's return. Unknown marks an operation whose
// outcome the client never learned (timeout, leadership lost, crash): it
// may or may not have taken effect, and its Return is the end of time.
type Output struct {
	Result
	Unknown bool
}

// register is the per-key model state.
type register struct {
	Value   string
	Present bool
}

// Model is the sequential specification of one key, partitioned by key.
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(Input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return register{} },
	Step: func(state, input, output any) (bool, any) {
		return step(state.(register), input.(Input), output.(Output))
	},
	Hash: func(state any) uint64 {
		s := state.(register)
		h := fnv.New64a()
		if s.Present {
			h.Write([]byte{1})
		}
		h.Write([]byte(s.Value))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		res := fmt.Sprintf("%+v", out.Result)
		if out.Unknown {
			res = "unknown"
		}
		return fmt.Sprintf("%v(%s,%q,%q) -> %s", in.Op, in.Key, in.Value, in.Expected, res)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%+v", state.(register)) },
}

func step(s register, in Input, out Output) (bool, any) {
	switch in.Op {
	case OpGet:
		if out.Unknown { // a read with no answer constrains nothing
			return true, s
		}
		return out.Found == s.Present && (!s.Present || out.Value == s.Value), s
	case OpPut:
		return true, register{Value: in.Value, Present: true}
	case OpDelete:
		return true, register{}
	case OpCAS:
		swap := s.Present && s.Value == in.Expected
		if !out.Unknown && out.OK != swap {
			return false, s
		}
		if swap {
			return true, register{Value: in.Value, Present: true}
		}
		return true, s
	}
	panic(fmt.Sprintf("kv: model step of %v", in.Op))
}
