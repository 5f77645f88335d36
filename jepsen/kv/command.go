package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op names a KV operation.
//
// Values are in the replicated log: only append.
type Op uint8

const (
	OpGet    Op = 1 // never in the log: served by ReadIndex
	OpPut    Op = 2
	OpCAS    Op = 3 // set Value if the key holds Expected
	OpDelete Op = 4
)

func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpCAS:
		return "cas"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Command is one client operation.
type Command struct {
	Op       Op
	Key      string
	Value    string // put, cas: the new value
	Expected string // cas: the value the key must hold
	ReqID    uint64 // unique per run; makes every log entry distinct
}

// Result is an operation's outcome.
type Result struct {
	Value string // get: the value read
	Found bool   // get: the key exists
	OK    bool   // cas: swapped; put, delete: always true
}

var errDecode = errors.New("kv: bad command")

// Encode returns the command's log bytes:
//
//	| op byte | reqID uvarint | key | value | expected |   strings: uvarint length + bytes
func (c Command) Encode() []byte {
	b := make([]byte, 0, 16+len(c.Key)+len(c.Value)+len(c.Expected))
	b = append(b, byte(c.Op))
	b = binary.AppendUvarint(b, c.ReqID)
	for _, s := range []string{c.Key, c.Value, c.Expected} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// Decode parses Encode's output.
func Decode(b []byte) (Command, error) {
	var c Command
	if len(b) < 1 {
		return c, errDecode
	}
	c.Op = Op(b[0])
	b = b[1:]
	id, n := binary.Uvarint(b)
	if n <= 0 {
		return c, errDecode
	}
	c.ReqID, b = id, b[n:]
	for _, dst := range []*string{&c.Key, &c.Value, &c.Expected} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return c, errDecode
		}
		*dst = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return c, errDecode
	}
	return c, nil
}
