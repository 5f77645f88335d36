package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawClient is one keep-alive connection written by hand, so that a test
// controls exactly which request goes on which connection.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, a *Agent) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", a.HTTPAddr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(method, target string) {
	rc.t.Helper()
	_, err := fmt.Fprintf(rc.c, "%s %s HTTP/1.1\r\nHost: test\r\n\r\n", method, target)
	require.NoError(rc.t, err)
}

// recv reads one response. head is its status line and header lines as
// they were on the wire (Date dropped, sorted), body its decoded body.
func (rc *rawClient) recv() (head []string, body string) {
	rc.t.Helper()
	head, body, err := rc.tryRecv()
	require.NoError(rc.t, err)
	return head, body
}

func (rc *rawClient) tryRecv() (head []string, body string, err error) {
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, "", err
	}
	head = append(head, resp.Proto+" "+resp.Status)
	for k, vs := range resp.Header {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			head = append(head, k+": "+v)
		}
	}
	if resp.ContentLength >= 0 && resp.Header.Get("Content-Length") == "" {
		// net/http's client moves Content-Length out of the headers.
		head = append(head, fmt.Sprintf("Content-Length: %d", resp.ContentLength))
	}
	if len(resp.TransferEncoding) > 0 {
		head = append(head, "Transfer-Encoding: "+strings.Join(resp.TransferEncoding, ","))
	}
	slices.Sort(head[1:])
	return head, string(b), nil
}

func (rc *rawClient) get(target string) ([]string, string) {
	rc.send("GET", target)
	return rc.recv()
}

func headerOf(head []string, name string) string {
	for _, h := range head {
		if v, ok := strings.CutPrefix(h, name+": "); ok {
			return v
		}
	}
	return ""
}

// withoutFraming drops Content-Length and Transfer-Encoding: for a body
// over 2 KiB net/http chunks, a parked answer gives its length.
func withoutFraming(head []string) []string {
	return slices.DeleteFunc(slices.Clone(head), func(h string) bool {
		return strings.HasPrefix(h, "Content-Length: ") || strings.HasPrefix(h, "Transfer-Encoding: ")
	})
}

// A parked query's answer is byte for byte what net/http writes for the
// same read (Date aside), for every KV read shape, after a write and after
// a timeout.
func TestParkedAnswerMatchesNetHTTP(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/p/a"), strings.NewReader("va"))
	do(t, "PUT", a.url("/v1/kv/p/b?flags=7"), strings.NewReader(strings.Repeat("x", 3000)))
	for _, tc := range []struct {
		name, path string
		write      string // the key a PUT wakes it with; "" = time out
	}{
		{"get", "/v1/kv/p/a", "p/a"},
		{"get big value", "/v1/kv/p/b", "p/b"},
		{"raw", "/v1/kv/p/a?raw", "p/a"},
		{"recurse", "/v1/kv/p/?recurse", "p/c"},
		{"keys", "/v1/kv/p/?keys&separator=/", "p/d"},
		{"missing then created", "/v1/kv/p/new", "p/new"},
		{"timeout", "/v1/kv/p/a?wait=50ms", ""},
		{"missing timeout", "/v1/kv/p/none?wait=50ms", ""},
		{"stale timeout", "/v1/kv/p/a?stale&wait=50ms", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, a)
			head, _ := c.get(tc.path)
			idx := headerOf(head, "X-Consul-Index")
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			before := a.store.Stats().WatchesAdded
			c.send("GET", tc.path+sep+"index="+idx)
			if tc.write != "" {
				// The query registers its watch, then parks; a write in
				// between is answered at once, correctly too.
				waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
				do(t, "PUT", a.url("/v1/kv/"+tc.write), strings.NewReader("new-"+tc.write))
			}
			parkedHead, parkedBody := c.recv()
			if tc.write == "" {
				require.Equal(t, idx, headerOf(parkedHead, "X-Consul-Index"))
			} else {
				require.NotEqual(t, idx, headerOf(parkedHead, "X-Consul-Index"))
			}
			// The same read, at the index the parked one answered, from
			// net/http on a fresh connection (index=0: not blocking).
			fresh := dialRaw(t, a)
			wantHead, wantBody := fresh.get(tc.path)
			require.Equal(t, wantBody, parkedBody)
			if len(wantBody) <= 2048 {
				require.Equal(t, wantHead, parkedHead)
			} else {
				require.Equal(t, withoutFraming(wantHead), withoutFraming(parkedHead))
				require.Equal(t, fmt.Sprint(len(wantBody)), headerOf(parkedHead, "Content-Length"))
			}
		})
	}
}

// One connection: a parked answer, then the next blocking GET served in
// place, then a non-KV request (back to net/http), a malformed one
// (net/http's 400), and the connection still serves.
func TestParkedConnectionKeepsServing(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("0"))
	c := dialRaw(t, a)
	head, _ := c.get("/v1/kv/k")
	idx := headerOf(head, "X-Consul-Index")
	for i := 1; i <= 3; i++ {
		before := a.store.Stats().WatchesAdded
		c.send("GET", "/v1/kv/k?index="+idx)
		waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
		do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader(fmt.Sprint(i)))
		head, body := c.recv()
		require.Equal(t, "HTTP/1.1 200 OK", head[0])
		require.Contains(t, body, fmt.Sprintf(`"Value":"%s"`, base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(i)))))
		require.NotEqual(t, idx, headerOf(head, "X-Consul-Index"))
		idx = headerOf(head, "X-Consul-Index")
		// Parked from net/http (1), from a request read in place (2), from
		// a repeated request (3): the same answer as net/http's.
		wantHead, wantBody := dialRaw(t, a).get("/v1/kv/k")
		require.Equal(t, wantHead, head, "round %d", i)
		require.Equal(t, wantBody, body, "round %d", i)
	}
	head, body := c.get("/v1/status/leader")
	require.Equal(t, "HTTP/1.1 200 OK", head[0])
	require.NotEmpty(t, body)

	c.send("GET", "/v1/kv/k?index="+idx)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("x"))
	head, _ = c.recv()
	require.Equal(t, "HTTP/1.1 200 OK", head[0])
	_, err := io.WriteString(c.c, "GET /v1/kv/k HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n")
	require.NoError(t, err)
	head, _ = c.recv()
	require.Equal(t, "HTTP/1.1 400 Bad Request", head[0])
}

// Two requests sent back to back while the first is parked: both are
// answered, in order.
func TestParkedPipelined(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("0"))
	c := dialRaw(t, a)
	head, _ := c.get("/v1/kv/k")
	idx := headerOf(head, "X-Consul-Index")
	_, err := fmt.Fprintf(c.c, "GET /v1/kv/k?index=%s&wait=10s HTTP/1.1\r\nHost: t\r\n\r\nGET /v1/kv/k?raw HTTP/1.1\r\nHost: t\r\n\r\n", idx)
	require.NoError(t, err)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("second"))
	head, _ = c.recv()
	require.NotEqual(t, idx, headerOf(head, "X-Consul-Index"))
	_, body := c.recv()
	require.Equal(t, "second", body)
}

// Pipelined requests larger than every read buffer, sent while parked,
// come out whole and in order (some served in place, the rest by net/http).
func TestParkedPipelinedLarge(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("0"))
	c := dialRaw(t, a)
	head, _ := c.get("/v1/kv/k")
	idx := headerOf(head, "X-Consul-Index")
	before := a.store.Stats().WatchesAdded
	c.send("GET", "/v1/kv/k?index="+idx)
	waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
	pad := strings.Repeat("p", 3000)
	for i := range 4 {
		_, err := fmt.Fprintf(c.c, "GET /v1/kv/k%d?raw HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n", i, pad)
		require.NoError(t, err)
	}
	for i := range 4 {
		do(t, "PUT", a.url(fmt.Sprintf("/v1/kv/k%d", i)), strings.NewReader(fmt.Sprint("v", i)))
	}
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("1"))
	head, _ = c.recv()
	require.NotEqual(t, idx, headerOf(head, "X-Consul-Index"))
	for i := range 4 {
		head, body := c.recv()
		require.Equal(t, "HTTP/1.1 200 OK", head[0])
		require.Equal(t, fmt.Sprint("v", i), body)
	}
}

// A client that leaves while parked frees its connection slot and its
// watch; stopping the agent answers parked queries at once.
func TestParkedClientLeavesAndShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.HTTPMaxConnsPerClient = 1
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, a.srv.waitReadyLeader(ctx))

	// served dials and reads a 404 for k, or nil when the connection was
	// refused (over the limit).
	served := func() *rawClient {
		nc, err := net.Dial("tcp", a.HTTPAddr())
		if err != nil {
			return nil
		}
		rc := &rawClient{t: t, c: nc, br: bufio.NewReader(nc)}
		fmt.Fprintf(nc, "GET /v1/kv/k HTTP/1.1\r\nHost: t\r\n\r\n")
		head, _, err := rc.tryRecv()
		if err != nil || head[0] != "HTTP/1.1 404 Not Found" {
			nc.Close()
			return nil
		}
		t.Cleanup(func() { nc.Close() })
		return rc
	}
	var c *rawClient
	waitFor(t, 5*time.Second, func() bool { c = served(); return c != nil }, "a connection")
	idx, _ := a.store.KVGet(nil, "k")
	index := fmt.Sprint(idx)
	before := a.store.Stats().WatchesAdded
	c.send("GET", "/v1/kv/k?index="+index)
	waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the watch")
	c.c.Close()
	// The one slot comes back once the parked query saw the client leave.
	waitFor(t, 5*time.Second, func() bool { c = served(); return c != nil }, "the slot of the client that left")

	before = a.store.Stats().WatchesAdded
	c.send("GET", "/v1/kv/k?index="+index)
	waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the watch")
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- a.Shutdown(context.Background()) }()
	head, _ := c.recv()
	require.Equal(t, "HTTP/1.1 404 Not Found", head[0])
	require.Equal(t, index, headerOf(head, "X-Consul-Index"))
	require.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, <-done)
}

func TestLimitedListenerResume(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ll := newLimitedListener(ln, 1)
	c1, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c1.Close()
	s1, err := ll.Accept()
	require.NoError(t, err)
	// Over the limit: closed at once, never returned by Accept.
	c2, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c2.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	// A resumed connection comes back through Accept, keeping its slot.
	go ll.resume(s1)
	again, err := ll.Accept()
	require.NoError(t, err)
	require.Same(t, s1, again)
	require.NoError(t, ll.Close())
	_, err = ll.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
	// Resuming into a closed listener closes the connection.
	ll.resume(s1)
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c1.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
}

// The wire format of a buffered answer, as net/http writes it.
func TestBufResponseWire(t *testing.T) {
	now := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    func(w http.ResponseWriter)
		want string
	}{
		{"empty 200", func(http.ResponseWriter) {},
			"HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 05:00:00 GMT\r\nContent-Length: 0\r\n\r\n"},
		{"404 with headers", func(w http.ResponseWriter) {
			w.Header().Set("X-Consul-Index", "5")
			w.Header().Set("X-Consul-KnownLeader", "true")
			w.WriteHeader(http.StatusNotFound)
		}, "HTTP/1.1 404 Not Found\r\nX-Consul-Index: 5\r\nX-Consul-Knownleader: true\r\nDate: Fri, 27 Nov 2026 05:00:00 GMT\r\nContent-Length: 0\r\n\r\n"},
		{"sniffed type", func(w http.ResponseWriter) { io.WriteString(w, "hello") },
			"HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 05:00:00 GMT\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello"},
		{"newline in a value", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "a\r\nb")
			io.WriteString(w, "x")
		}, "HTTP/1.1 200 OK\r\nContent-Type: a  b\r\nDate: Fri, 27 Nov 2026 05:00:00 GMT\r\nContent-Length: 1\r\n\r\nx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bufResponse
			tc.f(&b)
			require.Equal(t, tc.want, string(b.appendWire(nil, now)))
		})
	}
}

func TestRepeatTemplate(t *testing.T) {
	req := func(target string) []byte {
		return []byte("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n")
	}
	tmpl := newRepeatTemplate(req("/v1/kv/k?index=17&wait=1m"), &parkedQuery{})
	require.NotNil(t, tmpl)
	for _, tc := range []struct {
		name  string
		in    []byte
		index uint64
		ok    bool
	}{
		{"new index", req("/v1/kv/k?index=18&wait=1m"), 18, true},
		{"longer index", req("/v1/kv/k?index=123456&wait=1m"), 123456, true},
		{"followed by more", append(req("/v1/kv/k?index=5&wait=1m"), "GET /"...), 5, true},
		{"index 0", req("/v1/kv/k?index=0&wait=1m"), 0, false},
		{"other key", req("/v1/kv/j?index=18&wait=1m"), 0, false},
		{"other wait", req("/v1/kv/k?index=18&wait=2m"), 0, false},
		{"no digits", req("/v1/kv/k?index=&wait=1m"), 0, false},
		{"overflow", req("/v1/kv/k?index=99999999999999999999&wait=1m"), 0, false},
		{"cut short", req("/v1/kv/k?index=18&wait=1m")[:30], 0, false},
		{"other header", []byte("GET /v1/kv/k?index=18&wait=1m HTTP/1.1\r\nHost: u\r\n\r\n"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			index, n, ok := tmpl.match(tc.in)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.index, index)
				require.Equal(t, bytes.Index(tc.in, []byte("\r\n\r\n"))+4, n)
			}
		})
	}
	for _, target := range []string{
		"/v1/kv/k",                   // no query
		"/v1/kv/k?wait=1m",           // no index
		"/v1/kv/k?index=1&index=2",   // twice
		"/v1/kv/k?xindex=1",          // not the parameter
		"/v1/kv/k?index=1x",          // not digits only
		"/v1/kv/index=1?stale",       // in the path
		"/v1/kv/k?%69ndex=1&index=2", // a second, escaped index
		"/v1/kv/k?index=1&a=%zz",     // a query the handler cannot parse
	} {
		require.Nil(t, newRepeatTemplate(req(target), &parkedQuery{}), target)
	}
	require.NotNil(t, newRepeatTemplate(req("/v1/kv/k?stale&index=3"), &parkedQuery{}))
	require.Nil(t, newRepeatTemplate([]byte("GET /v1/kv/k?index=3 HTTP/1.1\nHost: t\n\n"), &parkedQuery{}), "bare LF")
}

// A snapshot restore answers blocked queries at once (Consul's abandon
// channel), with the restored state even when its index is not past
// ?index — parked, or waiting in the handler (HTTP/1.0 is not parked).
func TestBlockingRestoreAnswersAtOnce(t *testing.T) {
	a := startAgent(t)
	var snap bytes.Buffer // k absent
	_, err := a.store.Snapshot().WriteTo(&snap)
	require.NoError(t, err)
	do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("0"))
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		t.Run(proto, func(t *testing.T) {
			c := dialRaw(t, a)
			head, _ := c.get("/v1/kv/k")
			idx := headerOf(head, "X-Consul-Index")
			before := a.store.Stats().WatchesAdded
			_, err := fmt.Fprintf(c.c, "GET /v1/kv/k?index=%s&wait=1m %s\r\nHost: t\r\n\r\n", idx, proto)
			require.NoError(t, err)
			waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
			start := time.Now()
			require.NoError(t, a.store.Restore(bytes.NewReader(snap.Bytes())))
			head, _ = c.recv()
			require.Equal(t, proto+" 404 Not Found", head[0], "the restored store has no k")
			require.Less(t, time.Since(start), 5*time.Second)
			do(t, "PUT", a.url("/v1/kv/k"), strings.NewReader("0"))
		})
	}
}
