package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire format of a Message, version 1. Integers are unsigned varints
// (encoding/binary uvarint, at most 10 bytes); str and bytes are a uvarint
// length followed by that many bytes.
//
//	+---------+---------+---------+
//	| version | type    | flags   |   1 byte each; version = 1
//	+---------+---------+---------+   flags: bit 0 Reject, bit 1 Snapshot present,
//	                                  other bits must be 0
//	| From str | To str |
//	| Term | LogTerm | Index | Commit | ConflictTerm | ConflictIndex |   uvarints
//	| Context bytes |
//	| nEntries uvarint | entry * nEntries |
//	| snapshot meta |                     only if flags bit 1
//
//	entry:         | Term uvarint | Index uvarint | Type byte | Data bytes |
//	snapshot meta: | Index | Term | ConfigIndex |   uvarints
//	               | configuration bytes |           EncodeConfiguration (confcodec.go)
//
// Nothing may follow the last field. Entries are only valid on MsgApp and the
// snapshot meta is present exactly on MsgSnap. Empty Context and entry Data
// decode as nil.
//
// Compatibility: the version byte is bumped on any layout change; type,
// entry-type and suffrage values are append-only (see their declarations).

// codecVersion is the first byte of every encoded message.
const codecVersion byte = 1

// Decoding limits. They bound what a malicious or corrupt payload can make
// the decoder allocate; every length is checked against them and against the
// bytes actually remaining before anything is allocated.
const (
	// MaxMessageBytes bounds one encoded message. It must exceed the largest
	// MsgApp the core builds: MaxMsgBytes plus one entry of MaxEntrySize.
	MaxMessageBytes = 64 << 20
	// maxDecodeEntries bounds the entries in one message.
	maxDecodeEntries = 1 << 20
	// maxStringLen bounds NodeIDs and addresses, bytes.
	maxStringLen = 1 << 10
	// maxContextLen bounds Message.Context, bytes.
	maxContextLen = 1 << 12
	// maxEntryData bounds one entry's Data, bytes.
	maxEntryData = MaxMessageBytes
	// minEntryWire is the smallest encoding of one entry (term, index, type,
	// data length), used to reject counts the payload cannot hold.
	minEntryWire = 4
)

const (
	flagReject   byte = 1 << 0
	flagSnapshot byte = 1 << 1
	flagsKnown        = flagReject | flagSnapshot
)

// errDecode is wrapped by every decode error so callers can count them.
var errDecode = errors.New("raft: decode")

// EncodeMessage returns the wire form of m.
func EncodeMessage(m *Message) []byte {
	return AppendMessage(make([]byte, 0, encodedSizeHint(m)), m)
}

// AppendMessage appends the wire form of m to dst and returns the result.
func AppendMessage(dst []byte, m *Message) []byte {
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagSnapshot
	}
	dst = append(dst, codecVersion, byte(m.Type), flags)
	dst = appendString(dst, string(m.From))
	dst = appendString(dst, string(m.To))
	dst = binary.AppendUvarint(dst, uint64(m.Term))
	dst = binary.AppendUvarint(dst, uint64(m.LogTerm))
	dst = binary.AppendUvarint(dst, uint64(m.Index))
	dst = binary.AppendUvarint(dst, uint64(m.Commit))
	dst = binary.AppendUvarint(dst, uint64(m.ConflictTerm))
	dst = binary.AppendUvarint(dst, uint64(m.ConflictIndex))
	dst = appendBytes(dst, m.Context)
	dst = binary.AppendUvarint(dst, uint64(len(m.Entries)))
	for i := range m.Entries {
		e := &m.Entries[i]
		dst = binary.AppendUvarint(dst, uint64(e.Term))
		dst = binary.AppendUvarint(dst, uint64(e.Index))
		dst = append(dst, byte(e.Type))
		dst = appendBytes(dst, e.Data)
	}
	if s := m.Snapshot; s != nil {
		dst = binary.AppendUvarint(dst, uint64(s.Index))
		dst = binary.AppendUvarint(dst, uint64(s.Term))
		dst = binary.AppendUvarint(dst, uint64(s.ConfigIndex))
		dst = appendBytes(dst, EncodeConfiguration(s.Configuration))
	}
	return dst
}

// encodedSizeHint is an upper bound on the encoded size of m, so that
// EncodeMessage allocates once.
func encodedSizeHint(m *Message) int {
	n := 3 + 2*binary.MaxVarintLen64 + len(m.From) + len(m.To) + 6*binary.MaxVarintLen64 +
		binary.MaxVarintLen64 + len(m.Context) + binary.MaxVarintLen64
	for i := range m.Entries {
		n += 3*binary.MaxVarintLen64 + 1 + len(m.Entries[i].Data)
	}
	if s := m.Snapshot; s != nil {
		n += 5*binary.MaxVarintLen64 + 1
		for _, srv := range s.Configuration.Servers {
			n += 2*binary.MaxVarintLen64 + len(srv.ID) + len(srv.Address) + 1
		}
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// DecodeMessage parses a payload produced by EncodeMessage. It never panics:
// malformed input returns an error wrapping "raft: decode". The returned
// message does not alias b (Context and entry Data share one copy).
func DecodeMessage(b []byte) (Message, error) { return decodeMessage(b, nil) }

// Decoder decodes like DecodeMessage for a receiver that owns each payload
// (a driver's receive loop): the message's Context and entry Data alias b
// instead of a copy, so the caller must not modify b afterwards, and node
// IDs seen in recent messages are reused instead of allocated again. The
// zero value is ready; not safe for concurrent use.
type Decoder struct {
	ids  [8]NodeID // recently decoded IDs, replaced round-robin
	next int
}

// Decode parses b like DecodeMessage, aliasing it (see Decoder).
func (d *Decoder) Decode(b []byte) (Message, error) { return decodeMessage(b, d) }

// id returns b as a NodeID, reusing a recent equal one.
func (d *Decoder) id(b []byte) NodeID {
	if d == nil {
		return NodeID(b)
	}
	for _, id := range d.ids {
		if string(id) == string(b) && id != None {
			return id
		}
	}
	if len(b) == 0 {
		return None
	}
	id := NodeID(b)
	d.ids[d.next] = id
	d.next = (d.next + 1) % len(d.ids)
	return id
}

// decodeMessage is DecodeMessage (d nil: copy b) and Decoder.Decode.
func decodeMessage(b []byte, d *Decoder) (Message, error) {
	if len(b) > MaxMessageBytes {
		return Message{}, fmt.Errorf("%w: message is %d bytes, limit %d", errDecode, len(b), MaxMessageBytes)
	}
	if len(b) < 3 {
		return Message{}, fmt.Errorf("%w: message is %d bytes, need at least 3", errDecode, len(b))
	}
	if b[0] != codecVersion {
		return Message{}, fmt.Errorf("%w: unknown version %d", errDecode, b[0])
	}
	var m Message
	m.Type = MessageType(b[1])
	if !m.Type.Valid() || m.Type == MsgSnapStatus {
		return Message{}, fmt.Errorf("%w: invalid message type %d", errDecode, b[1])
	}
	flags := b[2]
	if flags&^flagsKnown != 0 {
		return Message{}, fmt.Errorf("%w: unknown flags %#x", errDecode, flags)
	}
	m.Reject = flags&flagReject != 0
	hasSnap := flags&flagSnapshot != 0
	if hasSnap != (m.Type == MsgSnap) {
		return Message{}, fmt.Errorf("%w: %v with snapshot flag %v", errDecode, m.Type, hasSnap)
	}

	// Byte fields alias one private copy of the payload: one allocation,
	// bounded by the (already checked) input size. A Decoder's caller owns
	// b, so they alias b itself.
	body := b[3:]
	if d == nil {
		body = append([]byte(nil), body...)
	}
	r := reader{buf: body}
	m.From = d.id(r.bytes("from", maxStringLen))
	m.To = d.id(r.bytes("to", maxStringLen))
	m.Term = Term(r.uvarint("term"))
	m.LogTerm = Term(r.uvarint("log term"))
	m.Index = Index(r.uvarint("index"))
	m.Commit = Index(r.uvarint("commit"))
	m.ConflictTerm = Term(r.uvarint("conflict term"))
	m.ConflictIndex = Index(r.uvarint("conflict index"))
	m.Context = r.bytes("context", maxContextLen)
	n := r.count("entries", maxDecodeEntries, minEntryWire)
	if n > 0 && m.Type != MsgApp && r.err == nil {
		r.fail(fmt.Errorf("%d entries on %v", n, m.Type))
	}
	if n > 0 && r.err == nil {
		m.Entries = make([]Entry, n)
		for i := range m.Entries {
			e := &m.Entries[i]
			e.Term = Term(r.uvarint("entry term"))
			e.Index = Index(r.uvarint("entry index"))
			e.Type = EntryType(r.byte("entry type"))
			if r.err == nil && (e.Type < EntryNormal || e.Type > EntryConfig) {
				r.fail(fmt.Errorf("entry %d: invalid type %d", i, e.Type))
			}
			e.Data = r.bytes("entry data", maxEntryData)
		}
	}
	if hasSnap {
		s := &SnapshotMeta{}
		s.Index = Index(r.uvarint("snapshot index"))
		s.Term = Term(r.uvarint("snapshot term"))
		s.ConfigIndex = Index(r.uvarint("snapshot config index"))
		if conf := r.bytes("snapshot configuration", MaxMessageBytes); r.err == nil {
			c, err := DecodeConfiguration(conf)
			if err != nil {
				r.fail(err)
			}
			s.Configuration = c
		}
		m.Snapshot = s
	}
	if r.err == nil && r.off != len(r.buf) {
		r.fail(fmt.Errorf("%d trailing bytes", len(r.buf)-r.off))
	}
	if r.err != nil {
		return Message{}, fmt.Errorf("%w: %v at byte %d: %w", errDecode, m.Type, r.off+3, r.err)
	}
	return m, nil
}

// IsDecodeError reports whether err came from DecodeMessage.
func IsDecodeError(err error) bool { return errors.Is(err, errDecode) }

// reader parses buf with a sticky error: after the first failure every read
// returns a zero value, so decoders read straight through and check once.
type reader struct {
	buf []byte
	off int
	err error
}

var errShort = errors.New("unexpected end of message")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) uvarint(what string) uint64 { return r.uvarintField(what, "") }

// uvarintField reads a uvarint named what+suffix in errors (concatenated
// only on failure: this runs for every field of every message).
func (r *reader) uvarintField(what, suffix string) uint64 {
	if r.err != nil {
		return 0
	}
	if r.off < len(r.buf) && r.buf[r.off] < 0x80 {
		// Most fields (IDs' lengths, small terms, flags-like counts) fit
		// in one byte: skip the general loop.
		v := r.buf[r.off]
		r.off++
		return uint64(v)
	}
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		if n == 0 {
			r.fail(fmt.Errorf("%s%s: %w", what, suffix, errShort))
		} else {
			r.fail(fmt.Errorf("%s%s: varint overflows 64 bits", what, suffix))
		}
		return 0
	}
	r.off += n
	return v
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.buf) {
		r.fail(fmt.Errorf("%s: %w", what, errShort))
		return 0
	}
	c := r.buf[r.off]
	r.off++
	return c
}

// bytes reads a length-prefixed field of at most limit bytes. It returns a
// sub-slice of buf (nil when empty), capped so appends cannot clobber the
// next field.
func (r *reader) bytes(what string, limit uint64) []byte {
	n := r.uvarintField(what, " length")
	if r.err != nil {
		return nil
	}
	if n > limit {
		r.fail(fmt.Errorf("%s: length %d exceeds limit %d", what, n, limit))
		return nil
	}
	if n > uint64(len(r.buf)-r.off) {
		r.fail(fmt.Errorf("%s: length %d: %w", what, n, errShort))
		return nil
	}
	if n == 0 {
		return nil
	}
	end := r.off + int(n)
	b := r.buf[r.off:end:end]
	r.off = end
	return b
}

// count reads an element count, rejecting one above limit or one the
// remaining bytes cannot hold at minWire bytes per element.
func (r *reader) count(what string, limit, minWire uint64) int {
	n := r.uvarintField(what, " count")
	if r.err != nil {
		return 0
	}
	if n > limit {
		r.fail(fmt.Errorf("%s: count %d exceeds limit %d", what, n, limit))
		return 0
	}
	if n > uint64(len(r.buf)-r.off)/minWire {
		r.fail(fmt.Errorf("%s: count %d: %w", what, n, errShort))
		return 0
	}
	return int(n)
}
