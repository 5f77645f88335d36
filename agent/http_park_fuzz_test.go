package agent

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// eofConn is a client that sent nothing past what is already in pre: a
// parkedConn on it reads only the fuzz input.
type eofConn struct{ net.Conn }

func (eofConn) Read([]byte) (int, error)        { return 0, io.EOF }
func (eofConn) SetReadDeadline(time.Time) error { return nil }

// fuzzTemplateRaw is a watcher's blocking GET, the template of the repeat
// path (http_repeat.go).
const fuzzTemplateRaw = "GET /v1/kv/a?index=5&wait=1s HTTP/1.1\r\nHost: x\r\n\r\n"

// FuzzParkedRequest feeds arbitrary bytes, as a parked connection's next
// request, to the in-place parsers: the general path's reading and choice
// (requestReader, http.ReadRequest, inlineable, as serveNext runs them)
// and the repeat path (newRepeatTemplate, indexDigits, onlyIndex,
// repeatTemplate.match). Nothing may panic; what is handed back to the
// HTTP server is the input, every byte in order; what is served in place
// is a plain HTTP/1.1 KV GET; and the repeat path only recognises a
// request the general path would parse to the same query.
func FuzzParkedRequest(f *testing.F) {
	f.Add([]byte(fuzzTemplateRaw))
	f.Add([]byte("GET /v1/kv/a?index=18446744073709551615&wait=1s HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("GET /v1/kv/b HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/kv/b HTTP/1.1\r\nHost: x\r\n\r\n"))
	tmpl := newRepeatTemplate([]byte(fuzzTemplateRaw), &parkedQuery{method: "GET", path: "/v1/kv/a"})
	if tmpl == nil {
		f.Fatalf("no template for %q", fuzzTemplateRaw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, ok := checkInlineRead(t, data)
		if ok {
			checkTemplateOf(t, rec)
		}
		checkTemplateOf(t, data)
		checkMatch(t, tmpl, data)
	})
}

// checkInlineRead reads data as serveNext reads a parked connection's
// next request and returns the bytes read and whether they are served in
// place.
func checkInlineRead(t *testing.T, data []byte) ([]byte, bool) {
	c := &parkedConn{rc: &resumedConn{Conn: eofConn{}, pre: bytes.Clone(data)}}
	rr := requestReaders.Get().(*requestReader)
	defer rr.release()
	rr.c, rr.deadline, rr.rec, rr.ioErr = c, time.Now().Add(inlineHeaderTimeout), rr.rec[:0], nil
	rr.br.Reset(rr)
	req, err := http.ReadRequest(rr.br)
	buffered := rr.br.Buffered()
	// Handed back: everything read, then what pre still holds.
	if back := append(bytes.Clone(rr.rec), c.rc.pre...); !bytes.Equal(back, data) {
		t.Fatalf("handed back %q, read %q", back, data)
	}
	if err != nil || buffered > 0 || !inlineable(req) {
		return nil, false
	}
	if rr.ioErr != nil {
		t.Fatalf("served in place after a read error %v", rr.ioErr)
	}
	if req.Method != http.MethodGet || !strings.HasPrefix(req.URL.Path, "/v1/kv/") || req.ProtoMinor != 1 {
		t.Fatalf("served in place: %s %q %s", req.Method, req.URL.Path, req.Proto)
	}
	if len(rr.rec) > len(data) {
		t.Fatalf("consumed %d bytes of %d", len(rr.rec), len(data))
	}
	return bytes.Clone(rr.rec), true
}

// checkTemplateOf makes a template of raw: its index digits lie in the
// request line, and raw itself matches it with that index.
func checkTemplateOf(t *testing.T, raw []byte) {
	tm := newRepeatTemplate(raw, &parkedQuery{method: "GET", path: "/"})
	if tm == nil {
		return
	}
	line, _, _ := bytes.Cut(raw, []byte("\r\n"))
	if tm.at <= 0 || tm.end <= tm.at || tm.end >= len(line) {
		t.Fatalf("index digits at [%d:%d] of a %d-byte request line", tm.at, tm.end, len(line))
	}
	want, err := strconv.ParseUint(string(raw[tm.at:tm.end]), 10, 64)
	index, n, ok := tm.match(raw)
	if err != nil || want == 0 {
		if ok {
			t.Fatalf("index %q matched as %d", raw[tm.at:tm.end], index)
		}
		return
	}
	if !ok || index != want || n != len(raw) {
		t.Fatalf("template does not match itself: %d %d %v, want %d %d", index, n, ok, want, len(raw))
	}
}

// checkMatch matches data against the template: what is recognised is
// the template's request with the index, as the general path parses it.
func checkMatch(t *testing.T, tm *repeatTemplate, data []byte) {
	index, n, ok := tm.match(data)
	if !ok {
		return
	}
	if index == 0 || n > len(data) {
		t.Fatalf("matched index %d, %d bytes of %d", index, n, len(data))
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data[:n])))
	if err != nil {
		t.Fatalf("matched %q, which does not parse: %v", data[:n], err)
	}
	got, err := strconv.ParseUint(req.URL.Query().Get("index"), 10, 64)
	if !inlineable(req) || req.URL.Path != tm.path || err != nil || got != index {
		t.Fatalf("matched %q as index %d; parsed %s %q index %d (%v)", data[:n], index, req.Method, req.URL.Path, got, err)
	}
}
