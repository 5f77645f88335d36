package swim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrMalformed wraps every decode failure. Network input is never trusted:
// each length is checked against the bytes left and a fixed bound before
// anything is allocated, and decoding never panics.
var ErrMalformed = errors.New("swim: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ---- encoding ----

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = appendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendTags writes tags in key order so an encoding is canonical.
func appendTags(b []byte, tags map[string]string) []byte {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = appendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, tags[k])
	}
	return b
}

// tagsSize is the encoded size of tags (checked against MaxTagsBytes).
func tagsSize(tags map[string]string) int { return len(appendTags(nil, tags)) }

func uvarintLen(v uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], v)
}

// encode returns the wire form of m: [type][version][body].
func encode(m message) []byte {
	b := []byte{byte(m.kind()), wireVersion}
	switch m := m.(type) {
	case *ping:
		b = appendUvarint(b, uint64(m.Seq))
		b = appendString(b, m.Target)
		b = appendString(b, m.SourceName)
		b = appendString(b, m.SourceAddr)
	case *indirectPing:
		b = appendUvarint(b, uint64(m.Seq))
		b = appendString(b, m.Target)
		b = appendString(b, m.TargetAddr)
		b = appendBool(b, m.Nack)
		b = appendUvarint(b, uint64(m.NackAfterMs))
		b = appendString(b, m.SourceName)
		b = appendString(b, m.SourceAddr)
	case *ack:
		b = appendUvarint(b, uint64(m.Seq))
	case *nack:
		b = appendUvarint(b, uint64(m.Seq))
	case *suspect:
		b = appendUvarint(b, uint64(m.Inc))
		b = appendString(b, m.Node)
		b = appendString(b, m.From)
	case *alive:
		b = appendUvarint(b, uint64(m.Inc))
		b = appendString(b, m.Node)
		b = appendString(b, m.Addr)
		b = appendTags(b, m.Tags)
	case *dead:
		b = appendUvarint(b, uint64(m.Inc))
		b = appendString(b, m.Node)
		b = appendString(b, m.From)
	case *compound:
		b = appendUvarint(b, uint64(len(m.Parts)))
		for _, p := range m.Parts {
			b = appendBytes(b, p)
		}
	case *pushPull:
		var flags byte
		if m.Join {
			flags |= 1
		}
		if m.Response {
			flags |= 2
		}
		b = append(b, flags)
		b = appendUvarint(b, uint64(m.EventLTime))
		b = appendUvarint(b, uint64(len(m.Members)))
		for i := range m.Members {
			pm := &m.Members[i]
			b = appendString(b, pm.Name)
			b = appendString(b, pm.Addr)
			b = appendTags(b, pm.Tags)
			b = appendUvarint(b, uint64(pm.Inc))
			b = append(b, byte(pm.State))
			b = appendString(b, pm.Accuser)
		}
	case *userEventMsg:
		b = appendUvarint(b, uint64(m.LTime))
		b = appendString(b, m.Name)
		b = appendBytes(b, m.Payload)
		b = appendBool(b, m.Coalesce)
		b = appendBytes(b, m.Filter)
	default:
		panic(fmt.Sprintf("swim: encode: unknown message %T", m))
	}
	return b
}

// ---- decoding ----

// reader consumes a message; the first failure sticks in err and every
// later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(format, args...)
	}
	r.b = nil
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("%s: bad varint", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32(what string) uint32 {
	v := r.uvarint(what)
	if v > math.MaxUint32 {
		r.fail("%s: %d overflows uint32", what, v)
		return 0
	}
	return uint32(v)
}

func (r *reader) bool(what string) bool {
	switch v := r.byte(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("%s: bad bool %d", what, v)
		return false
	}
}

// length reads a length prefix and checks it against max and the bytes
// left, before the caller allocates anything.
func (r *reader) length(what string, max int) int {
	v := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if v > uint64(max) || v > uint64(len(r.b)) {
		r.fail("%s: length %d exceeds limit %d or remaining %d", what, v, max, len(r.b))
		return 0
	}
	return int(v)
}

func (r *reader) string(what string, max int) string {
	n := r.length(what, max)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) bytes(what string, max int) []byte {
	n := r.length(what, max)
	if r.err != nil || n == 0 {
		return nil
	}
	p := slices.Clone(r.b[:n])
	r.b = r.b[n:]
	return p
}

func (r *reader) tags(what string) map[string]string {
	// Each tag takes at least two bytes, so the remaining length bounds
	// the count as well as maxTagCount does.
	n := r.length(what, maxTagCount)
	if r.err != nil || n == 0 {
		return nil
	}
	tags := make(map[string]string, n)
	for range n {
		k := r.string(what+" key", maxNameLen)
		v := r.string(what+" value", 512)
		if r.err != nil {
			return nil
		}
		if _, dup := tags[k]; dup {
			r.fail("%s: duplicate key %q", what, k)
			return nil
		}
		tags[k] = v
	}
	return tags
}

// decode parses one message. A compound's parts are left encoded; the
// caller decodes them with decodePart, which refuses nested compounds.
func decode(b []byte) (message, error) {
	if len(b) < 2 {
		return nil, malformed("%d bytes, need a 2-byte header", len(b))
	}
	t, v := msgType(b[0]), b[1]
	if v != wireVersion {
		return nil, malformed("%v: unknown version %d", t, v)
	}
	r := &reader{b: b[2:]}
	var m message
	switch t {
	case msgPing:
		m = &ping{
			Seq:        r.u32("ping seq"),
			Target:     r.string("ping target", maxNameLen),
			SourceName: r.string("ping source name", maxNameLen),
			SourceAddr: r.string("ping source addr", maxAddrLen),
		}
	case msgIndirectPing:
		m = &indirectPing{
			Seq:         r.u32("indirect-ping seq"),
			Target:      r.string("indirect-ping target", maxNameLen),
			TargetAddr:  r.string("indirect-ping target addr", maxAddrLen),
			Nack:        r.bool("indirect-ping nack"),
			NackAfterMs: r.u32("indirect-ping nack after"),
			SourceName:  r.string("indirect-ping source name", maxNameLen),
			SourceAddr:  r.string("indirect-ping source addr", maxAddrLen),
		}
	case msgAck:
		m = &ack{Seq: r.u32("ack seq")}
	case msgNack:
		m = &nack{Seq: r.u32("nack seq")}
	case msgSuspect:
		m = &suspect{
			Inc:  Incarnation(r.u32("suspect incarnation")),
			Node: r.string("suspect node", maxNameLen),
			From: r.string("suspect from", maxNameLen),
		}
	case msgAlive:
		m = &alive{
			Inc:  Incarnation(r.u32("alive incarnation")),
			Node: r.string("alive node", maxNameLen),
			Addr: r.string("alive addr", maxAddrLen),
			Tags: r.tags("alive tags"),
		}
	case msgDead:
		m = &dead{
			Inc:  Incarnation(r.u32("dead incarnation")),
			Node: r.string("dead node", maxNameLen),
			From: r.string("dead from", maxNameLen),
		}
	case msgCompound:
		n := r.length("compound count", maxCompoundPart)
		c := &compound{Parts: make([][]byte, 0, n)}
		for range n {
			// Parts alias b: they are decoded at once, never kept.
			l := r.length("compound part", len(b))
			if r.err != nil {
				break
			}
			c.Parts = append(c.Parts, r.b[:l:l])
			r.b = r.b[l:]
		}
		m = c
	case msgPushPull:
		m = decodePushPull(r, len(b))
	case msgUserEvent:
		m = &userEventMsg{UserEvent{
			LTime:    LamportTime(r.uvarint("user-event ltime")),
			Name:     r.string("user-event name", maxEventField),
			Payload:  r.bytes("user-event payload", maxEventField),
			Coalesce: r.bool("user-event coalesce"),
			Filter:   r.bytes("user-event filter", maxEventField),
		}}
	default:
		return nil, malformed("unknown message type %d", b[0])
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, malformed("%v: %d trailing bytes", t, len(r.b))
	}
	return m, nil
}

func decodePushPull(r *reader, size int) *pushPull {
	if size > maxPushPullSize {
		r.fail("push-pull: %d bytes exceeds %d", size, maxPushPullSize)
		return nil
	}
	flags := r.byte("push-pull flags")
	if flags&^3 != 0 {
		r.fail("push-pull: unknown flags %#x", flags)
	}
	pp := &pushPull{
		Join:       flags&1 != 0,
		Response:   flags&2 != 0,
		EventLTime: LamportTime(r.uvarint("push-pull ltime")),
	}
	// An entry takes at least 6 bytes, which bounds the count by the
	// bytes left before the slice is allocated.
	n := r.length("push-pull count", len(r.b)/6)
	if r.err != nil {
		return nil
	}
	pp.Members = make([]pushPullMember, 0, n)
	for range n {
		pm := pushPullMember{
			Name: r.string("push-pull name", maxNameLen),
			Addr: r.string("push-pull addr", maxAddrLen),
			Tags: r.tags("push-pull tags"),
			Inc:  Incarnation(r.u32("push-pull incarnation")),
		}
		st := State(r.byte("push-pull state"))
		if st > StateLeft {
			r.fail("push-pull: unknown state %d", st)
		}
		if r.err != nil {
			return nil
		}
		pm.State = st
		pm.Accuser = r.string("push-pull accuser", maxNameLen)
		if r.err != nil {
			return nil
		}
		pp.Members = append(pp.Members, pm)
	}
	return pp
}

// decodePart decodes one part of a compound.
func decodePart(b []byte) (message, error) {
	if len(b) > 0 && msgType(b[0]) == msgCompound {
		return nil, malformed("nested compound")
	}
	return decode(b)
}
