package transport

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
)

// fuzzSeeds are well-formed inputs of every decoder, so the fuzzer starts
// from the interesting shapes (more seeds in testdata/fuzz).
func fuzzSeeds() [][]byte {
	msg := raft.EncodeMessage(&raft.Message{Type: raft.MsgHeartbeat, From: "a", To: "b", Term: 2, Commit: 5})
	snapHdr := raft.EncodeMessage(&raft.Message{Type: raft.MsgSnap, From: "a", To: "b", Term: 1, Snapshot: &raft.SnapshotMeta{Index: 3, Term: 1}})
	var snap bytes.Buffer
	if err := writeSnapshotStream(&snap, snapHdr, bytes.NewReader([]byte("state")), func() {}); err != nil {
		panic(err)
	}
	raftFrame := append(appendFrameHeader(nil, len(msg)), msg...)
	return [][]byte{
		raftFrame,
		encodeRequest(7, "kv.apply", []byte("body")),
		encodeResponse(7, statusOK, []byte("answer")),
		encodeResponse(8, statusError, []byte("no leader")),
		snap.Bytes(),
		append([]byte{kindRaftPriority, wireVersion}, raftFrame...),
		append([]byte{kindRPC, wireVersion}, encodeRequest(1, "m", nil)...),
		append([]byte{kindSnapshot, wireVersion}, snap.Bytes()...),
	}
}

// FuzzFrameDecoder: the frame, RPC and snapshot-stream decoders accept or
// reject any input without panicking, respect their caps, and what they
// accept re-encodes to the same bytes.
func FuzzFrameDecoder(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := bytes.NewReader(data)
		var consumed int
		for {
			b, err := readFrame(r, limit)
			if err != nil {
				break
			}
			if len(b) == 0 || len(b) > limit {
				t.Fatalf("frame of %d bytes passed the %d cap", len(b), limit)
			}
			if got := append(appendFrameHeader(nil, len(b)), b...); !bytes.Equal(got, data[consumed:consumed+len(got)]) {
				t.Fatalf("frame does not re-encode")
			}
			consumed += frameHeaderLen + len(b)
		}
		if len(data) >= frameHeaderLen {
			body := data[frameHeaderLen:]
			if req, err := parseRequest(body); err == nil {
				if got := encodeRequest(req.id, req.method, req.body)[frameHeaderLen:]; !bytes.Equal(got, body) {
					t.Fatalf("request does not re-encode")
				}
			}
			if resp, err := parseResponse(body); err == nil {
				if got := encodeResponse(resp.id, resp.status, resp.body)[frameHeaderLen:]; !bytes.Equal(got, body) {
					t.Fatalf("response does not re-encode")
				}
			}
		}
		var out bytes.Buffer
		n, err := readSnapshotData(bytes.NewReader(data), &out, limit, func() {})
		if n > limit || int64(out.Len()) < n {
			t.Fatalf("snapshot read %d bytes (wrote %d) with cap %d", n, out.Len(), limit)
		}
		if err == nil && out.Len() != int(n) {
			t.Fatalf("snapshot total %d, wrote %d", n, out.Len())
		}
	})
}

// FuzzInbound feeds arbitrary bytes to the whole inbound connection path
// (preamble, every connection kind, staging): it must end without a panic,
// and a rejected stream leaves no staged file.
func FuzzInbound(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultTCPConfig("127.0.0.1:0", dir)
		cfg.MaxRPCBytes = 1 << 16
		cfg.MaxSnapshotBytes = 1 << 16
		tr := &TCP{cfg: cfg, clk: clock.Real{}, log: slog.New(slog.DiscardHandler), closed: make(chan struct{})}
		rec := newRecorder()
		tr.SetReceiver(rec)
		tr.SetRPCHandler(func(method string, req []byte) ([]byte, error) {
			if method == "err" {
				return nil, errors.New("boom")
			}
			return req, nil
		})
		c := &bytesConn{r: bytes.NewReader(data)}
		tr.serveConn(c)
		if left, _ := filepath.Glob(filepath.Join(dir, stagedPattern)); len(left) != 0 {
			t.Fatalf("staged files left: %v", left)
		}
	})
}

// bytesConn is a net.Conn that reads data and swallows writes.
type bytesConn struct{ r *bytes.Reader }

func (c *bytesConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *bytesConn) Close() error                       { return nil }
func (c *bytesConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *bytesConn) SetDeadline(t time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(t time.Time) error { return nil }
