package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is a watcher's HTTP/1.1 keep-alive connection, written and
// parsed by hand: with 10,000 watchers on the same 2 cores as the agent,
// net/http's client (~75 µs of CPU per response) would compete with the
// server it measures. It understands exactly what a KV GET returns: a
// status line, headers, and a Content-Length body (no chunking, no 1xx).
type rawConn struct {
	c     net.Conn
	br    *bufio.Reader
	req   []byte       // reused request buffer
	stamp *stampReader // with kernel receive timestamps, else nil
}

// dialRaw connects to addr; with kernelStamps its reads keep the kernel's
// receive timestamp (see stampReader).
func dialRaw(ctx context.Context, addr string, kernelStamps bool) (*rawConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &rawConn{c: c}
	var r io.Reader = c
	if kernelStamps {
		if rc.stamp, err = newStampReader(c); err != nil {
			c.Close()
			return nil, fmt.Errorf("rx timestamps: %w", err)
		}
		r = rc.stamp
	}
	rc.br = bufio.NewReaderSize(r, 1024)
	return rc, nil
}

// received is when the last response's final bytes arrived: the kernel's
// receive timestamp with kernel stamps, else now.
func (rc *rawConn) received() time.Time {
	if rc.stamp != nil && !rc.stamp.last.IsZero() {
		return rc.stamp.last
	}
	return time.Now()
}

func (rc *rawConn) close() { rc.c.Close() }

// get sends GET path and reads the whole response. It returns the status
// and X-Consul-Index; the body is read and dropped.
func (rc *rawConn) get(path string) (int, uint64, error) {
	return rc.getWait(path, 0)
}

// getWait is get of path?index=index&wait=10m when index > 0, built
// without allocating: the watchers' loop runs it 10,000 times per round.
func (rc *rawConn) getWait(path string, index uint64) (int, uint64, error) {
	rc.req = append(rc.req[:0], "GET "...)
	rc.req = append(rc.req, path...)
	if index > 0 {
		rc.req = append(rc.req, "?index="...)
		rc.req = strconv.AppendUint(rc.req, index, 10)
		rc.req = append(rc.req, "&wait=10m"...)
	}
	rc.req = append(rc.req, " HTTP/1.1\r\nHost: agentd\r\nUser-Agent: agentd-bench\r\n\r\n"...)
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, 0, err
	}
	return rc.readResponse()
}

// interrupt makes a blocked get return at once (with an error).
func (rc *rawConn) interrupt() { rc.c.SetDeadline(time.Unix(1, 0)) }

var (
	hdrIndex  = []byte("x-consul-index:")
	hdrLength = []byte("content-length:")
)

func (rc *rawConn) readResponse() (int, uint64, error) {
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	var idx uint64
	length := -1
	for {
		line, err = rc.br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		switch {
		case hasPrefixFold(line, hdrIndex):
			idx, _ = strconv.ParseUint(string(bytes.TrimSpace(line[len(hdrIndex):])), 10, 64)
		case hasPrefixFold(line, hdrLength):
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(hdrLength):])))
			if err != nil {
				return 0, 0, fmt.Errorf("bad Content-Length %q", line)
			}
		}
	}
	if length < 0 {
		return 0, 0, fmt.Errorf("response without Content-Length (status %d)", code)
	}
	if _, err := rc.br.Discard(length); err != nil {
		return 0, 0, fmt.Errorf("body: %w", err)
	}
	return code, idx, nil
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}
