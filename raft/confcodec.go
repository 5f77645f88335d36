package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Encoding of a Configuration in an EntryConfig entry, version 1. Integers
// are uvarints; str is a uvarint length then the bytes.
//
//	+---------+------------------+-----------------------+
//	| version | nServers uvarint | server * nServers     |
//	+---------+------------------+-----------------------+
//	server: | ID str | Address str | Suffrage byte |
//
// Servers are sorted by ID, IDs are unique and non-empty; nothing follows the
// last server.

const confCodecVersion byte = 1

// Decoding limits for configurations.
const (
	confMaxServers = 1 << 12
	confMaxString  = 1 << 10
)

// ErrBadConfiguration wraps every DecodeConfiguration error.
var ErrBadConfiguration = errors.New("raft: bad configuration encoding")

// EncodeConfiguration returns the entry data for c. c's servers must be
// sorted by ID (see Configuration).
func EncodeConfiguration(c Configuration) []byte {
	size := 1 + binary.MaxVarintLen64
	for _, s := range c.Servers {
		size += 2*binary.MaxVarintLen64 + len(s.ID) + len(s.Address) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, confCodecVersion)
	b = binary.AppendUvarint(b, uint64(len(c.Servers)))
	for _, s := range c.Servers {
		b = binary.AppendUvarint(b, uint64(len(s.ID)))
		b = append(b, s.ID...)
		b = binary.AppendUvarint(b, uint64(len(s.Address)))
		b = append(b, s.Address...)
		b = append(b, byte(s.Suffrage))
	}
	return b
}

// DecodeConfiguration parses EncodeConfiguration's output. It never panics;
// malformed input returns an error wrapping ErrBadConfiguration.
func DecodeConfiguration(b []byte) (Configuration, error) {
	fail := func(format string, args ...any) (Configuration, error) {
		return Configuration{}, fmt.Errorf("%w: %s", ErrBadConfiguration, fmt.Sprintf(format, args...))
	}
	if len(b) == 0 {
		return fail("empty")
	}
	if b[0] != confCodecVersion {
		return fail("version %d", b[0])
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return fail("server count")
	}
	b = b[k:]
	// Each server takes at least 3 bytes.
	if n > confMaxServers || n > uint64(len(b))/3 {
		return fail("server count %d", n)
	}
	var c Configuration
	if n > 0 {
		c.Servers = make([]Server, n)
	}
	str := func() (string, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > confMaxString || l > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return s, true
	}
	for i := range c.Servers {
		id, ok := str()
		if !ok || id == "" {
			return fail("server %d: id", i)
		}
		addr, ok := str()
		if !ok {
			return fail("server %d: address", i)
		}
		if len(b) == 0 {
			return fail("server %d: suffrage missing", i)
		}
		suf := Suffrage(b[0])
		b = b[1:]
		if suf != Voter && suf != Nonvoter {
			return fail("server %d: suffrage %d", i, suf)
		}
		if i > 0 && c.Servers[i-1].ID >= NodeID(id) {
			return fail("server %d: ids not sorted/unique", i)
		}
		c.Servers[i] = Server{ID: NodeID(id), Address: addr, Suffrage: suf}
	}
	if len(b) != 0 {
		return fail("%d trailing bytes", len(b))
	}
	return c, nil
}

// sortServers returns a copy of servers sorted by ID.
func sortServers(servers []Server) []Server {
	out := slices.Clone(servers)
	slices.SortFunc(out, func(a, b Server) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}
