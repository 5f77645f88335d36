package agent

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHTTPBehaviours checks reference §10 (KV, sessions, blocking,
// consistency) and the error mapping over raw HTTP.
func TestHTTPBehaviours(t *testing.T) {
	a := startAgent(t)
	put := func(path, body string) string {
		code, _, b := do(t, http.MethodPut, a.url(path), strings.NewReader(body))
		require.Equal(t, 200, code, "%s: %s", path, b)
		return b
	}
	put("/v1/kv/exists", "v")

	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		bodyHas                  string
		header                   map[string]string
	}{
		{name: "missing key 404 with index", method: "GET", path: "/v1/kv/nope", code: 404},
		{name: "recurse miss 404", method: "GET", path: "/v1/kv/nope/?recurse", code: 404},
		{name: "keys miss 404", method: "GET", path: "/v1/kv/nope/?keys", code: 404},
		{name: "keys root is a list", method: "GET", path: "/v1/kv/?keys", code: 200, bodyHas: `["exists"`},
		{name: "missing key name", method: "GET", path: "/v1/kv/", code: 400, bodyHas: "Missing key name"},
		{name: "raw", method: "GET", path: "/v1/kv/exists?raw", code: 200, bodyHas: "v", header: map[string]string{"Content-Type": "text/plain", "X-Content-Type-Options": "nosniff"}},
		{name: "stale and consistent", method: "GET", path: "/v1/kv/exists?stale&consistent", code: 400, bodyHas: "Cannot specify ?stale with ?consistent"},
		{name: "bad wait", method: "GET", path: "/v1/kv/exists?index=1&wait=soon", code: 400, bodyHas: "Invalid wait time"},
		{name: "bad index", method: "GET", path: "/v1/kv/exists?index=-1", code: 400, bodyHas: "Invalid index"},
		{name: "Go duration wait", method: "GET", path: "/v1/kv/exists?index=1&wait=60000ms", code: 200},
		{name: "bare stale", method: "GET", path: "/v1/kv/exists?stale=", code: 200, header: map[string]string{"X-Consul-Effective-Consistency": "stale", "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "0"}},
		{name: "consistent", method: "GET", path: "/v1/kv/exists?consistent", code: 200, header: map[string]string{"X-Consul-Effective-Consistency": "consistent"}},
		{name: "cas=0 on existing is false", method: "PUT", path: "/v1/kv/exists?cas=0", body: "x", code: 200, bodyHas: "false"},
		{name: "delete cas=0 is false", method: "DELETE", path: "/v1/kv/exists?cas=0", code: 200, bodyHas: "false"},
		{name: "conflicting flags", method: "PUT", path: "/v1/kv/k?cas=1&acquire=x", code: 400, bodyHas: "Conflicting flags"},
		{name: "recurse with cas", method: "DELETE", path: "/v1/kv/k?cas=1&recurse", code: 400},
		{name: "bad flags", method: "PUT", path: "/v1/kv/k?flags=x", code: 500, bodyHas: `strconv.ParseUint: parsing "x": invalid syntax`},
		{name: "method not allowed", method: "POST", path: "/v1/kv/k", code: 405},
		{name: "method not allowed on mux", method: "DELETE", path: "/v1/status/leader", code: 405},
		{name: "unknown path", method: "GET", path: "/v1/nothing", code: 404},
		{name: "txn conflict", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"check-not-exists","Key":"exists"}},{"KV":{"Verb":"set","Key":"z","Value":"eA=="}}]`, code: 409, bodyHas: `"OpIndex":0`},
		{name: "txn bad json", method: "PUT", path: "/v1/txn", body: `{`, code: 400},
		{name: "session bad ttl", method: "PUT", path: "/v1/session/create", body: `{"TTL":"1ms"}`, code: 500, bodyHas: "Invalid Session TTL '1000000', must be between"},
		{name: "session bad json", method: "PUT", path: "/v1/session/create", body: `{"TTL":`, code: 400},
		{name: "session bad lock delay", method: "PUT", path: "/v1/session/create", body: `{"LockDelay":"soon"}`, code: 400, bodyHas: "Request decode failed"},
		{name: "session numeric lock delay", method: "PUT", path: "/v1/session/create", body: `{"LockDelay":5}`, code: 200, bodyHas: `"ID"`},
		{name: "session info missing is empty", method: "GET", path: "/v1/session/info/00000000-0000-0000-0000-000000000000", code: 200, bodyHas: "[]"},
		{name: "session destroy malformed", method: "PUT", path: "/v1/session/destroy/xyz", code: 200, bodyHas: "true"},
		{name: "session renew unknown", method: "PUT", path: "/v1/session/renew/00000000-0000-0000-0000-000000000000", code: 404},
		{name: "status leader", method: "GET", path: "/v1/status/leader", code: 200, bodyHas: `"127.0.0.1:8300"`},
		{name: "status peers", method: "GET", path: "/v1/status/peers", code: 200, bodyHas: `["127.0.0.1:8300"]`},
		{name: "raft configuration", method: "GET", path: "/v1/operator/raft/configuration", code: 200, bodyHas: `"Leader":true`},
		{name: "agent self", method: "GET", path: "/v1/agent/self", code: 200, bodyHas: `"Datacenter":"dc1"`},
		{name: "members", method: "GET", path: "/v1/agent/members", code: 200, bodyHas: `"role":"consul"`},
		{name: "catalog nodes", method: "GET", path: "/v1/catalog/nodes", code: 200, bodyHas: `"Node":"test-node"`},
		{name: "health node", method: "GET", path: "/v1/health/node/test-node", code: 200, bodyHas: `"CheckID":"serfHealth"`},
		{name: "root", method: "GET", path: "/", code: 200, bodyHas: "Consul Agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			code, h, b := do(t, tc.method, a.url(tc.path), body)
			require.Equal(t, tc.code, code, "body: %s", b)
			require.Contains(t, b, tc.bodyHas)
			for k, v := range tc.header {
				require.Equal(t, v, h.Get(k), k)
			}
			if tc.method == "GET" && strings.HasPrefix(tc.path, "/v1/kv/") && code != 400 {
				idx, err := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
				require.NoError(t, err)
				require.GreaterOrEqual(t, idx, uint64(1), "X-Consul-Index is never 0")
			}
		})
	}
	// The key survived the failed deletes and CAS.
	code, _, b := do(t, "GET", a.url("/v1/kv/exists?raw"), nil)
	require.Equal(t, 200, code)
	require.Equal(t, "v", b)
}

func TestHTTPBodyLimits(t *testing.T) {
	a := startAgent(t)
	big := strings.Repeat("x", maxKVValueBytes+1)
	code, _, _ := do(t, "PUT", a.url("/v1/kv/big"), strings.NewReader(big))
	require.Equal(t, http.StatusRequestEntityTooLarge, code)

	// Chunked: no Content-Length, the cap applies while reading.
	req, err := http.NewRequest("PUT", a.url("/v1/kv/big"), io.MultiReader(strings.NewReader(big)))
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	}
	code, _, _ = do(t, "GET", a.url("/v1/kv/big"), nil)
	require.Equal(t, 404, code, "nothing was written")

	code, _, _ = do(t, "PUT", a.url("/v1/kv/fits"), strings.NewReader(big[:maxKVValueBytes]))
	require.Equal(t, 200, code)
}

func TestHTTPBlockingWaitAndIndex(t *testing.T) {
	a := startAgent(t)
	do(t, "PUT", a.url("/v1/kv/b"), strings.NewReader("1"))
	_, h, _ := do(t, "GET", a.url("/v1/kv/b"), nil)
	idx := h.Get("X-Consul-Index")

	// An unchanged index after the wait; within wait + wait/16 + slack.
	start := time.Now()
	code, h2, _ := do(t, "GET", a.url("/v1/kv/b?index="+idx+"&wait=100ms"), nil)
	took := time.Since(start)
	require.Equal(t, 200, code)
	require.Equal(t, idx, h2.Get("X-Consul-Index"))
	require.GreaterOrEqual(t, took, 100*time.Millisecond)
	require.Less(t, took, 100*time.Millisecond+100*time.Millisecond/16+500*time.Millisecond)

	// index=0 never blocks.
	start = time.Now()
	do(t, "GET", a.url("/v1/kv/b?index=0&wait=5s"), nil)
	require.Less(t, time.Since(start), time.Second)
}

func TestParseQueryOptions(t *testing.T) {
	for _, tc := range []struct {
		query, cacheControl string
		want                queryOptions
		err                 string
	}{
		{query: "", want: queryOptions{wait: defaultQueryTime}},
		{query: "index=5", want: queryOptions{minIndex: 5, wait: defaultQueryTime}},
		{query: "index=5&wait=20m", want: queryOptions{minIndex: 5, wait: maxQueryTime}},
		{query: "wait=0s", want: queryOptions{wait: defaultQueryTime}},
		{query: "wait=60000ms", want: queryOptions{wait: time.Minute}},
		{query: "stale", want: queryOptions{wait: defaultQueryTime, consistency: ConsistencyStale}},
		{query: "stale=false", want: queryOptions{wait: defaultQueryTime, consistency: ConsistencyStale}},
		{query: "max_stale=0s", want: queryOptions{wait: defaultQueryTime}},
		{query: "max_stale=5s", want: queryOptions{wait: defaultQueryTime, consistency: ConsistencyStale, maxStale: 5 * time.Second}},
		{query: "consistent=1", want: queryOptions{wait: defaultQueryTime, consistency: ConsistencyConsistent}},
		{query: "stale&consistent", err: "conflicting"},
		{query: "consistent&cached", err: "conflicting"},
		{query: "wait=x", err: "Invalid wait time"},
		{query: "index=x", err: "Invalid index"},
		{query: "max_stale=x", err: "max_stale"},
		// Consul's parse order: consistency, Cache-Control, wait, index.
		{query: "index=x&wait=x", err: "Invalid wait time"},
		{query: "index=x&stale&consistent", err: "conflicting"},
		{query: "wait=x", cacheControl: "max-age=x", err: "Invalid Cache-Control header."},
		{query: "stale&consistent", cacheControl: "max-age=x", err: "conflicting"},
		{query: "", cacheControl: "must-revalidate, Stale-If-Error=10s", err: "Invalid Cache-Control header."},
		{query: "", cacheControl: "max-age=30, stale-if-error=60, no-cache", want: queryOptions{wait: defaultQueryTime}},
	} {
		t.Run(tc.query+" "+tc.cacheControl, func(t *testing.T) {
			q, _ := urlQuery(tc.query)
			h := http.Header{}
			if tc.cacheControl != "" {
				h.Set("Cache-Control", tc.cacheControl)
			}
			got, err := parseQueryOptions(q, h)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.True(t, isBadRequest(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for range 100 {
		d := blockingTimeout(160 * time.Millisecond)
		require.GreaterOrEqual(t, d, 160*time.Millisecond)
		require.Less(t, d, 170*time.Millisecond)
	}
}
