package raft

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genMessage draws a message that is valid on the wire: entries only on
// MsgApp, a snapshot exactly on MsgSnap, empty byte fields as nil (the form
// DecodeMessage produces).
func genMessage() *rapid.Generator[*Message] {
	id := rapid.Custom(func(t *rapid.T) NodeID {
		return NodeID(rapid.StringN(0, 40, maxStringLen).Draw(t, "id"))
	})
	optBytes := func(t *rapid.T, label string, max int) []byte {
		b := rapid.SliceOfN(rapid.Byte(), 0, max).Draw(t, label)
		if len(b) == 0 {
			return nil
		}
		return b
	}
	return rapid.Custom(func(t *rapid.T) *Message {
		types := []MessageType{MsgVote, MsgVoteResp, MsgPreVote, MsgPreVoteResp, MsgApp, MsgAppResp,
			MsgHeartbeat, MsgHeartbeatResp, MsgSnap, MsgTimeoutNow, MsgReadIndex, MsgReadIndexResp, MsgProp}
		m := &Message{
			Type:          rapid.SampledFrom(types).Draw(t, "type"),
			From:          id.Draw(t, "from"),
			To:            id.Draw(t, "to"),
			Term:          Term(rapid.Uint64().Draw(t, "term")),
			LogTerm:       Term(rapid.Uint64().Draw(t, "logterm")),
			Index:         Index(rapid.Uint64().Draw(t, "index")),
			Commit:        Index(rapid.Uint64().Draw(t, "commit")),
			Reject:        rapid.Bool().Draw(t, "reject"),
			ConflictTerm:  Term(rapid.Uint64().Draw(t, "cterm")),
			ConflictIndex: Index(rapid.Uint64().Draw(t, "cindex")),
			Context:       optBytes(t, "context", 64),
		}
		if m.Type == MsgApp {
			n := rapid.IntRange(0, 8).Draw(t, "n")
			for i := 0; i < n; i++ {
				m.Entries = append(m.Entries, Entry{
					Term:  Term(rapid.Uint64().Draw(t, "eterm")),
					Index: Index(rapid.Uint64().Draw(t, "eindex")),
					Type:  rapid.SampledFrom([]EntryType{EntryNormal, EntryNoop, EntryConfig}).Draw(t, "etype"),
					Data:  optBytes(t, "data", 300),
				})
			}
		}
		if m.Type == MsgSnap {
			s := &SnapshotMeta{
				Index:       Index(rapid.Uint64().Draw(t, "sindex")),
				Term:        Term(rapid.Uint64().Draw(t, "sterm")),
				ConfigIndex: Index(rapid.Uint64().Draw(t, "scindex")),
			}
			// Configurations are sorted by unique, non-empty IDs.
			ids := rapid.SliceOfNDistinct(rapid.StringN(1, 40, maxStringLen), 0, 5, rapid.ID[string]).Draw(t, "sids")
			slices.Sort(ids)
			for _, sid := range ids {
				s.Configuration.Servers = append(s.Configuration.Servers, Server{
					ID:       NodeID(sid),
					Address:  rapid.StringN(0, 30, maxStringLen).Draw(t, "addr"),
					Suffrage: rapid.SampledFrom([]Suffrage{Voter, Nonvoter}).Draw(t, "suffrage"),
				})
			}
			m.Snapshot = s
		}
		return m
	})
}

func TestCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		b := EncodeMessage(m)
		got, err := DecodeMessage(b)
		require.NoError(t, err)
		require.Equal(t, *m, got)
		// AppendMessage after a prefix must produce the same bytes.
		prefix := []byte("xyz")
		require.Equal(t, b, AppendMessage(prefix, m)[len(prefix):])
		require.LessOrEqual(t, len(b), encodedSizeHint(m))
	})
}

// TestCodecDecodeDoesNotAlias checks that decoded byte fields survive the
// transport reusing its receive buffer.
func TestCodecDecodeDoesNotAlias(t *testing.T) {
	m := Message{Type: MsgApp, From: "a", To: "b", Context: []byte("ctx"),
		Entries: []Entry{{Term: 1, Index: 2, Type: EntryNormal, Data: []byte("payload")}}}
	b := EncodeMessage(&m)
	got, err := DecodeMessage(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0xff
	}
	require.Equal(t, m, got)
}

// TestCodecDecoder checks that a Decoder, used across many messages,
// decodes each exactly like DecodeMessage, reuses node IDs, and allocates
// less (it aliases the payload).
func TestCodecDecoder(t *testing.T) {
	var d Decoder
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		got, err := d.Decode(EncodeMessage(m))
		require.NoError(t, err)
		require.Equal(t, *m, got)
	})

	m := Message{Type: MsgApp, From: "n1", To: "n2", Term: 3,
		Entries: []Entry{{Term: 3, Index: 2, Type: EntryNormal, Data: []byte("payload")}}}
	b := EncodeMessage(&m)
	first, err := d.Decode(b)
	require.NoError(t, err)
	second, err := d.Decode(EncodeMessage(&m))
	require.NoError(t, err)
	require.Equal(t, unsafe.StringData(string(first.From)), unsafe.StringData(string(second.From)), "From not reused")
	// The entry aliases the payload: the caller hands b over.
	require.Equal(t, &b[len(b)-1], &first.Entries[0].Data[len(first.Entries[0].Data)-1])

	plain := testing.AllocsPerRun(100, func() { _, _ = DecodeMessage(b) })
	reused := testing.AllocsPerRun(100, func() { _, _ = d.Decode(b) })
	require.Less(t, reused, plain, "Decoder allocations %v, DecodeMessage %v", reused, plain)
}

func TestCodecDecodeErrors(t *testing.T) {
	valid := EncodeMessage(&Message{Type: MsgApp, From: "a", To: "b", Term: 3,
		Entries: []Entry{{Term: 3, Index: 1, Type: EntryNormal, Data: []byte("x")}}})
	snap := EncodeMessage(&Message{Type: MsgSnap, From: "a", To: "b",
		Snapshot: &SnapshotMeta{Index: 5, Term: 2, Configuration: Configuration{Servers: []Server{{ID: "a", Suffrage: Voter}}}}})
	// header builds a message prefix: version, type, flags, From "a", To "b",
	// six zero uvarints, empty context.
	header := func(typ MessageType, flags byte) []byte {
		return []byte{codecVersion, byte(typ), flags, 1, 'a', 1, 'b', 0, 0, 0, 0, 0, 0, 0}
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short header", []byte{codecVersion, byte(MsgVote)}},
		{"bad version", cat([]byte{2}, valid[1:])},
		{"type zero", cat([]byte{codecVersion, 0}, valid[2:])},
		{"type sentinel", cat([]byte{codecVersion, byte(msgTypeSentinel)}, valid[2:])},
		{"type local only", cat([]byte{codecVersion, byte(MsgSnapStatus)}, valid[2:])},
		{"unknown flag", cat(valid[:2], []byte{0x80}, valid[3:])},
		{"snapshot flag on MsgApp", cat(valid[:2], []byte{flagSnapshot}, valid[3:])},
		{"MsgSnap without snapshot", cat(header(MsgSnap, 0), []byte{0})},
		{"truncated", valid[:len(valid)-1]},
		{"trailing byte", cat(valid, []byte{0})},
		{"truncated snapshot", snap[:len(snap)-2]},
		{"string too long", cat([]byte{codecVersion, byte(MsgVote), 0}, binary.AppendUvarint(nil, maxStringLen+1))},
		{"string past end", []byte{codecVersion, byte(MsgVote), 0, 5, 'a'}},
		{"varint overflow", cat([]byte{codecVersion, byte(MsgVote), 0, 0, 0},
			bytes.Repeat([]byte{0xff}, 10), []byte{1})},
		{"context too long", cat([]byte{codecVersion, byte(MsgHeartbeat), 0, 0, 0, 0, 0, 0, 0, 0, 0},
			binary.AppendUvarint(nil, maxContextLen+1))},
		{"entries on heartbeat", cat(header(MsgHeartbeat, 0), []byte{1, 1, 1, 1, 0})},
		{"entry count exceeds limit", cat(header(MsgApp, 0), binary.AppendUvarint(nil, maxDecodeEntries+1))},
		{"entry count exceeds payload", cat(header(MsgApp, 0), binary.AppendUvarint(nil, 1000), []byte{1, 1, 1, 0})},
		{"bad entry type", cat(header(MsgApp, 0), []byte{1, 1, 1, 9, 0})},
		{"entry data past end", cat(header(MsgApp, 0), []byte{1, 1, 1, 1, 0x7f, 'x'})},
		{"configuration past end", cat(header(MsgSnap, flagSnapshot), []byte{0, 1, 1, 1, 0x7f, 1})},
		{"bad configuration", cat(header(MsgSnap, flagSnapshot), []byte{0, 1, 1, 1, 6, 1, 1, 1, 'a', 0, 7})},
		{"too large", make([]byte, MaxMessageBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMessage(tt.in)
			require.Error(t, err)
			require.True(t, IsDecodeError(err), "error %v does not wrap errDecode", err)
			require.Contains(t, err.Error(), "raft: decode")
		})
	}
	// The helpers above must build valid messages when completed, or the
	// cases would fail for the wrong reason.
	_, err := DecodeMessage(cat(header(MsgHeartbeat, 0), []byte{0}))
	require.NoError(t, err)
	_, err = DecodeMessage(cat(header(MsgApp, 0), []byte{1, 1, 1, 1, 1, 'x'}))
	require.NoError(t, err)
	_, err = DecodeMessage(cat(header(MsgSnap, flagSnapshot), []byte{0, 1, 1, 1, 6, 1, 1, 1, 'a', 0, byte(Voter)}))
	require.NoError(t, err)
}

// TestCodecCompact pins the size of a heartbeat, the most frequent message,
// so an accidental layout bloat shows up.
func TestCodecCompact(t *testing.T) {
	id1 := NodeID("2f6a3b1c-8d4e-4f5a-9b6c-7d8e9f0a1b2c")
	id2 := NodeID("3a7b4c2d-9e5f-4a6b-8c7d-6e5f4a3b2c1d")
	b := EncodeMessage(&Message{Type: MsgHeartbeat, From: id1, To: id2, Term: 7, Commit: 123456})
	require.Equal(t, 3+37+37+1+1+1+3+1+1+1+1, len(b))
}

func BenchmarkEncodeMsgApp(b *testing.B) {
	m := benchMsgApp()
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], m)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeMsgApp(b *testing.B) {
	p := EncodeMessage(benchMsgApp())
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeMessage(p); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMsgApp() *Message {
	m := &Message{Type: MsgApp, From: "node-1", To: "node-2", Term: 5, LogTerm: 5, Index: 1000, Commit: 990}
	for i := 0; i < 64; i++ {
		m.Entries = append(m.Entries, Entry{Term: 5, Index: Index(1001 + i), Type: EntryNormal, Data: make([]byte, 256)})
	}
	return m
}
