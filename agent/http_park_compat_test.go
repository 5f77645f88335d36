package agent

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exchange sends one request written by hand on c and reads its response
// (head as rawClient.recv gives it, Date dropped).
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, method, target, proto, headers string) ([]string, string) {
	t.Helper()
	_, err := fmt.Fprintf(c, "%s %s %s\r\nHost: test\r\n%s\r\n", method, target, proto, headers)
	require.NoError(t, err)
	return readResp(t, c, br, method)
}

func readResp(t *testing.T, c net.Conn, br *bufio.Reader, method string) ([]string, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	head := []string{resp.Proto + " " + resp.Status}
	for k, vs := range resp.Header {
		if k != "Date" {
			for _, v := range vs {
				head = append(head, k+": "+v)
			}
		}
	}
	if resp.ContentLength >= 0 && resp.Header.Get("Content-Length") == "" && method != http.MethodHead {
		head = append(head, fmt.Sprintf("Content-Length: %d", resp.ContentLength))
	}
	if resp.Close {
		head = append(head, "(closes)")
	}
	slices.Sort(head[1:])
	return head, string(b)
}

// What reviewers' clients send (Consul's Go api client, consul-template,
// curl, Python and Java clients, Prometheus): each blocking request,
// woken by a write, is answered exactly as net/http answers the same
// request without ?index, and the connection stays usable unless the
// request asked to close it.
func TestParkedClientVariants(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/c/k"), strings.NewReader("v0"))
	do(t, "PUT", a.url("/v1/kv/c/a/b"), strings.NewReader("slash"))
	for _, tc := range []struct {
		name, method, target, proto, headers string
		write                                string // the key the waking PUT writes
		closes                               bool   // the answer ends the connection
	}{
		{name: "go api client", target: "/v1/kv/c/k?index={i}&wait=5000ms",
			headers: "User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n", write: "c/k"},
		{name: "python requests", target: "/v1/kv/c/k?index={i}",
			headers: "User-Agent: python-requests/2.31\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n", write: "c/k"},
		{name: "java", target: "/v1/kv/c/k?wait=10s&index={i}",
			headers: "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\nConnection: keep-alive\r\n", write: "c/k"},
		{name: "token header", target: "/v1/kv/c/k?index={i}", headers: "X-Consul-Token: s3cr3t\r\n", write: "c/k"},
		{name: "escaped params", target: "/v1/kv/c/k?dc=dc1&token=a%20b%2Bc&index={i}&wait=1m", write: "c/k"},
		{name: "escaped slash in key", target: "/v1/kv/c/a%2Fb?index={i}", write: "c/a/b"},
		{name: "stale", target: "/v1/kv/c/k?stale&index={i}", write: "c/k"},
		{name: "consistent", target: "/v1/kv/c/k?consistent=&index={i}", write: "c/k"},
		{name: "raw", target: "/v1/kv/c/k?raw&index={i}", write: "c/k"},
		{name: "keys separator", target: "/v1/kv/c/?keys&separator=/&index={i}", write: "c/n"},
		{name: "recurse", target: "/v1/kv/c?recurse&index={i}", write: "c/k"},
		{name: "missing key created", target: "/v1/kv/c/new?index={i}", write: "c/new"},
		// No HEAD: Consul answers it with a 405 before any read
		// (TestHTTPConsulCompat), so it never parks.
		{name: "HTTP/1.0", proto: "HTTP/1.0", target: "/v1/kv/c/k?index={i}", write: "c/k", closes: true},
		{name: "connection close", target: "/v1/kv/c/k?index={i}", headers: "Connection: close\r\n", write: "c/k", closes: true},
		{name: "expect continue", target: "/v1/kv/c/k?index={i}", headers: "Expect: 100-continue\r\n", write: "c/k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, proto := cmpOr(tc.method, "GET"), cmpOr(tc.proto, "HTTP/1.1")
			fresh := func() (net.Conn, *bufio.Reader) {
				c, err := net.Dial("tcp", a.HTTPAddr())
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				return c, bufio.NewReader(c)
			}
			c0, br0 := fresh()
			head, _ := exchange(t, c0, br0, method, strings.Replace(tc.target, "{i}", "0", 1), proto, tc.headers)
			idx := headerOf(head, "X-Consul-Index")
			require.NotEmpty(t, idx)

			c, br := fresh()
			before := a.store.Stats().WatchesAdded
			_, err := fmt.Fprintf(c, "%s %s %s\r\nHost: test\r\n%s\r\n", method, strings.Replace(tc.target, "{i}", idx, 1), proto, tc.headers)
			require.NoError(t, err)
			waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
			do(t, "PUT", a.url("/v1/kv/"+tc.write), strings.NewReader("w-"+tc.name))
			gotHead, gotBody := readResp(t, c, br, method)
			require.NotEqual(t, idx, headerOf(gotHead, "X-Consul-Index"))

			c1, br1 := fresh()
			wantHead, wantBody := exchange(t, c1, br1, method, strings.Replace(tc.target, "{i}", "0", 1), proto, tc.headers)
			require.Equal(t, wantBody, gotBody)
			require.Equal(t, wantHead, gotHead)

			// The connection after the answer.
			_, err = fmt.Fprintf(c, "GET /v1/status/leader HTTP/1.1\r\nHost: test\r\n\r\n")
			if tc.closes {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = br.ReadByte()
				require.Error(t, err, "the connection should be closed")
				return
			}
			require.NoError(t, err)
			head, _ = readResp(t, c, br, "GET")
			require.Equal(t, "HTTP/1.1 200 OK", head[0])
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// A wake that brings nothing new (the write left the index at or below
// ?index) parks the query again; its wait then ends on time, answering
// the current index.
func TestParkedSpuriousWakeWaitsOn(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/s"), strings.NewReader("0"))
	c := dialRaw(t, a)
	ahead := a.store.AppliedIndex() + 1000
	before := a.store.Stats().WatchesAdded
	start := time.Now()
	c.send("GET", fmt.Sprintf("/v1/kv/s?index=%d&wait=300ms", ahead))
	waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the query's watch")
	do(t, "PUT", a.url("/v1/kv/s"), strings.NewReader("1"))
	head, body := c.recv()
	took := time.Since(start)
	require.GreaterOrEqual(t, took, 300*time.Millisecond, "answered on a wake that brought nothing past ?index")
	require.Less(t, took, 300*time.Millisecond+300*time.Millisecond/16+2*time.Second)
	idx, _ := a.store.KVGet(nil, "s")
	require.Equal(t, strconv.FormatUint(idx, 10), headerOf(head, "X-Consul-Index"))
	require.Contains(t, body, `"Value":"MQ=="`)
	require.GreaterOrEqual(t, a.store.Stats().WatchesAdded, before+2, "parked again on a new watch")
}

// Many watchers of one key, several rounds, on separate connections:
// every one gets exactly the answer net/http gives (the answerers share
// one rendering), and keeps its connection. Run with -race.
func TestParkedHerdRounds(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/h"), strings.NewReader("0"))
	const n, rounds = 40, 3
	cs := make([]*rawClient, n)
	idx := make([]string, n)
	for i := range cs {
		cs[i] = dialRaw(t, a)
		head, _ := cs[i].get("/v1/kv/h")
		idx[i] = headerOf(head, "X-Consul-Index")
	}
	for r := 1; r <= rounds; r++ {
		before := a.store.Stats().WatchesAdded
		for i, c := range cs {
			path := "/v1/kv/h?index=" + idx[i]
			if i%2 == 1 {
				path += "&raw"
			}
			c.send("GET", path)
		}
		waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded >= before+n }, "every watch")
		do(t, "PUT", a.url("/v1/kv/h"), strings.NewReader(fmt.Sprint("r", r)))
		heads := make([][]string, n)
		bodies := make([]string, n)
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				heads[i], bodies[i] = c.recv()
			}()
		}
		wg.Wait()
		wantJSON, wantJSONBody := dialRaw(t, a).get("/v1/kv/h")
		wantRaw, wantRawBody := dialRaw(t, a).get("/v1/kv/h?raw")
		for i := range cs {
			want, wantBody := wantJSON, wantJSONBody
			if i%2 == 1 {
				want, wantBody = wantRaw, wantRawBody
			}
			require.Equal(t, want, heads[i], "round %d watcher %d", r, i)
			require.Equal(t, wantBody, bodies[i], "round %d watcher %d", r, i)
			idx[i] = headerOf(heads[i], "X-Consul-Index")
		}
	}
}

// Consul's Go api client is net/http's Transport underneath: a blocking
// loop on one keep-alive connection, several wakes.
func TestParkedNetHTTPClientLoop(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/g"), strings.NewReader("0"))
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	get := func(index string) (*http.Response, string) {
		resp, err := client.Get(a.url("/v1/kv/g?raw&wait=5s&index=" + index))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, _ := get("0")
	idx := resp.Header.Get("X-Consul-Index")
	for i := 1; i <= 3; i++ {
		done := make(chan struct{})
		var body string
		before := a.store.Stats().WatchesAdded
		go func() {
			defer close(done)
			resp, body = get(idx)
		}()
		waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the watch")
		do(t, "PUT", a.url("/v1/kv/g"), strings.NewReader(fmt.Sprint("v", i)))
		<-done
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, fmt.Sprint("v", i), body)
		require.NotEqual(t, idx, resp.Header.Get("X-Consul-Index"))
		idx = resp.Header.Get("X-Consul-Index")
	}
}

// A connection whose answer was written and that sends nothing more is
// closed after the idle limit — answered on a write (its wait's timer
// entry still pending) or on the wait's expiry (none left) — and a
// client that leaves while parked is noticed; the agent then holds no
// parked goroutine for them.
func TestParkedIdleAndGone(t *testing.T) {
	a := startAgent(t)
	a.blocking.idle.Store(int64(200 * time.Millisecond))
	do(t, "PUT", a.url("/v1/kv/i"), strings.NewReader("0"))
	for _, tc := range []struct {
		name  string
		query string
		write bool
	}{
		{"answered on a write", "&wait=1m", true},
		{"answered on expiry", "&wait=50ms", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, a)
			head, _ := c.get("/v1/kv/i")
			idx := headerOf(head, "X-Consul-Index")
			before := a.store.Stats().WatchesAdded
			c.send("GET", "/v1/kv/i?index="+idx+tc.query)
			if tc.write {
				waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the watch")
				do(t, "PUT", a.url("/v1/kv/i"), strings.NewReader("x"))
			}
			head, _ = c.recv()
			require.Equal(t, "HTTP/1.1 200 OK", head[0])
			start := time.Now()
			c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := c.br.ReadByte()
			require.ErrorIs(t, err, io.EOF, "closed by the agent, not by our deadline")
			require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		})
	}
	t.Run("client leaves while parked", func(t *testing.T) {
		c := dialRaw(t, a)
		head, _ := c.get("/v1/kv/i")
		before := a.store.Stats().WatchesAdded
		c.send("GET", "/v1/kv/i?wait=1m&index="+headerOf(head, "X-Consul-Index"))
		waitFor(t, 5*time.Second, func() bool { return a.store.Stats().WatchesAdded > before }, "the watch")
		c.c.Close()
		waitFor(t, 5*time.Second, func() bool {
			a.blocking.timers.mu.Lock()
			defer a.blocking.timers.mu.Unlock()
			return len(a.blocking.timers.h) == 0
		}, "the parked connection to leave")
	})
}

// Watchers that leave at random moments (parked, being answered, just
// answered) while writes keep waking the others, then the agent stops:
// no answer is wrong, nothing deadlocks, every timer entry goes. Run with
// -race.
func TestParkedChurn(t *testing.T) {
	a := startAgent(t)
	a.blocking.idle.Store(int64(time.Second))
	do(t, "PUT", a.url("/v1/kv/churn"), strings.NewReader("0"))
	stop := make(chan struct{})
	var writes sync.WaitGroup
	writes.Add(1)
	go func() {
		defer writes.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			do(t, "PUT", a.url("/v1/kv/churn"), strings.NewReader(fmt.Sprint(i)))
		}
	}()
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", a.HTTPAddr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			idx := "1"
			for round := 0; round < 20+w; round++ {
				fmt.Fprintf(c, "GET /v1/kv/churn?index=%s&wait=2s HTTP/1.1\r\nHost: t\r\n\r\n", idx)
				if (round+w)%9 == 8 {
					return // leaves with a query parked or being answered
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Errorf("watcher %d round %d: %v", w, round, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				next := resp.Header.Get("X-Consul-Index")
				if resp.StatusCode != 200 || next == "" {
					t.Errorf("watcher %d: status %d index %q", w, resp.StatusCode, next)
					return
				}
				idx = next
			}
		}()
	}
	wg.Wait()
	close(stop)
	writes.Wait()
	waitFor(t, 10*time.Second, func() bool {
		a.blocking.timers.mu.Lock()
		defer a.blocking.timers.mu.Unlock()
		return len(a.blocking.timers.h) == 0
	}, "every parked connection to leave")
}
