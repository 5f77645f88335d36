package raft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeMessage feeds arbitrary bytes to DecodeMessage: it must never
// panic, and whatever it accepts must be stable: decode(encode(decode(b)))
// equals decode(b), and encode is a fixed point after one round.
//
// Seed corpus: testdata/fuzz/FuzzDecodeMessage (one file per message type).
// Run: go test ./raft -run '^$' -fuzz FuzzDecodeMessage -fuzztime 60s
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range seedMessages() {
		f.Add(EncodeMessage(&m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		// A Decoder (aliasing, reusing IDs) agrees with DecodeMessage, also
		// on its second message, which takes IDs from its cache.
		var d Decoder
		for range 2 {
			dm, derr := d.Decode(append([]byte(nil), b...))
			require.Equal(t, fmt.Sprint(err), fmt.Sprint(derr))
			require.Equal(t, m, dm)
		}
		if err != nil {
			require.True(t, IsDecodeError(err), "error %v does not wrap errDecode", err)
			return
		}
		enc := EncodeMessage(&m)
		m2, err := DecodeMessage(enc)
		require.NoError(t, err, "re-encoded message does not decode")
		require.Equal(t, m, m2)
		require.Equal(t, enc, EncodeMessage(&m2))
	})
}

// seedMessages is one representative message per wire type.
func seedMessages() []Message {
	conf := Configuration{Servers: []Server{
		{ID: "n1", Address: "10.0.0.1:8300", Suffrage: Voter},
		{ID: "n2", Address: "10.0.0.2:8300", Suffrage: Nonvoter},
	}}
	return []Message{
		{Type: MsgVote, From: "n1", To: "n2", Term: 4, LogTerm: 3, Index: 17},
		{Type: MsgVoteResp, From: "n2", To: "n1", Term: 4, Reject: true},
		{Type: MsgPreVote, From: "n1", To: "n2", Term: 5, LogTerm: 3, Index: 17},
		{Type: MsgPreVoteResp, From: "n2", To: "n1", Term: 5},
		{Type: MsgApp, From: "n1", To: "n2", Term: 4, LogTerm: 3, Index: 17, Commit: 16, Entries: []Entry{
			{Term: 4, Index: 18, Type: EntryNoop},
			{Term: 4, Index: 19, Type: EntryNormal, Data: []byte("set k v")},
			{Term: 4, Index: 20, Type: EntryConfig, Data: []byte{1, 2, 3}},
		}},
		{Type: MsgAppResp, From: "n2", To: "n1", Term: 4, Index: 17, Reject: true, ConflictTerm: 2, ConflictIndex: 9},
		{Type: MsgHeartbeat, From: "n1", To: "n2", Term: 4, Commit: 20, Context: []byte{0, 0, 0, 7}},
		{Type: MsgHeartbeatResp, From: "n2", To: "n1", Term: 4, Context: []byte{0, 0, 0, 7}},
		{Type: MsgSnap, From: "n1", To: "n2", Term: 4, Snapshot: &SnapshotMeta{Index: 100, Term: 3, ConfigIndex: 1, Configuration: conf}},
		{Type: MsgTimeoutNow, From: "n1", To: "n2", Term: 4},
		{Type: MsgReadIndex, From: "n2", To: "n1", Term: 4, Context: []byte("r1")},
		{Type: MsgReadIndexResp, From: "n1", To: "n2", Term: 4, Index: 20, Context: []byte("r1")},
	}
}
