package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Primitive encoding shared by commands and snapshots. Integers are
// uvarints (signed ones zigzag varints); strings and byte slices are a
// uvarint length then the bytes; a slice is a uvarint count then elements;
// a map is a count then (key, value) pairs in ascending key order, so equal
// states encode to equal bytes. Optional slices (nil vs empty matters) are
// written as count+1, 0 meaning nil.

// Decoding limits: every length is checked against them and against the
// bytes remaining before anything is allocated.
const (
	maxStringLen = 1 << 16  // keys, names, IDs, bytes
	maxValueLen  = 64 << 20 // KV values and embedded snapshots
	maxListLen   = 1 << 20  // elements in one slice or map
)

type encoder struct{ b []byte }

func (e *encoder) byte1(v byte)     { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }

func (e *encoder) bool1(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}

// time writes t as Unix nanoseconds; the zero Time is written as 0.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(0)
		return
	}
	e.varint(t.UnixNano())
}

func (e *encoder) strs(v []string) {
	e.uvarint(uint64(len(v)))
	for _, s := range v {
		e.str(s)
	}
}

// optStrs distinguishes nil from empty.
func (e *encoder) optStrs(v []string) {
	if v == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(v)) + 1)
	for _, s := range v {
		e.str(s)
	}
}

func (e *encoder) strMap(m map[string]string) {
	e.uvarint(uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

// decoder reads the primitives. The first error sticks: later reads return
// zero values, so callers check err once at the end. It never panics.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
	}
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool1() bool {
	switch v := d.byte1(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad bool %d", v)
		return false
	}
}

// length reads a length and checks it against limit and the bytes left
// (each element takes at least minBytes).
func (d *decoder) length(limit uint64, minBytes int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > limit || n*uint64(minBytes) > uint64(len(d.b)) {
		d.fail("length %d exceeds limit or input", n)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.length(maxStringLen, 1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// bytes returns a copy (nil when empty), so decoded commands never alias
// the log entry's buffer.
func (d *decoder) bytes(limit uint64) []byte {
	n := d.length(limit, 1)
	if d.err != nil || n == 0 {
		return nil
	}
	p := slices.Clone(d.b[:n])
	d.b = d.b[n:]
	return p
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *decoder) strs() []string {
	n := d.length(maxListLen, 1)
	if d.err != nil || n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.str()
	}
	return v
}

func (d *decoder) optStrs() []string {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	n--
	if n > maxListLen || n > uint64(len(d.b)) {
		d.fail("length %d exceeds limit or input", n)
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.str()
	}
	return v
}

func (d *decoder) strMap() map[string]string {
	n := d.length(maxListLen, 2)
	if d.err != nil || n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	prev := ""
	for i := 0; i < n; i++ {
		k := d.str()
		// Ascending order keeps encode(decode(b)) == b, which the state
		// hash relies on.
		if i > 0 && k <= prev {
			d.fail("map keys out of order")
			return nil
		}
		m[k] = d.str()
		prev = k
	}
	return m
}

// done fails if bytes remain.
func (d *decoder) done() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
}
