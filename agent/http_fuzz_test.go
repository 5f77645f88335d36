package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fuzzMethods = []string{"GET", "PUT", "DELETE", "POST", "HEAD", "PATCH", "OPTIONS"}

// FuzzHTTP drives the API mux with arbitrary methods, paths, queries and
// bodies: no input may make a handler panic, and every answer is a valid
// HTTP status. Requests get a short deadline so blocking queries end.
func FuzzHTTP(f *testing.F) {
	seeds := []struct {
		m           byte
		path, query string
		body        []byte
	}{
		{0, "/v1/kv/a", "", nil},
		{1, "/v1/kv/a", "flags=3&cas=0", []byte("v")},
		{1, "/v1/kv/a", "acquire=00000000-0000-0000-0000-000000000000", nil},
		{1, "/v1/kv/a", "release=x&cas=1", nil},
		{2, "/v1/kv/a", "recurse&cas=3", nil},
		{0, "/v1/kv/", "keys&separator=/&index=1&wait=1ms", nil},
		{0, "/v1/kv/a//b/../c", "recurse&stale&consistent", nil},
		{0, "/v1/kv/a", "raw&index=18446744073709551615&wait=1h", nil},
		{1, "/v1/txn", "", []byte(`[{"KV":{"Verb":"set","Key":"k","Value":"dg=="}},{"KV":{"Verb":"get-tree","Key":""}}]`)},
		{1, "/v1/txn", "stale", []byte(`[{"KV":{"Verb":"get","Key":"k"}},{"Node":{}}]`)},
		{1, "/v1/txn", "", []byte(`[{"KV":{"Verb":"lock","Key":"k","Session":"nope"}}]`)},
		{1, "/v1/session/create", "", []byte(`{"TTL":"10s","LockDelay":"1s","Behavior":"delete","NodeChecks":[]}`)},
		{1, "/v1/session/create", "", []byte(`{"LockDelay":1e300,"Checks":["serfHealth"],"ServiceChecks":[{"ID":"x"}]}`)},
		{1, "/v1/session/renew/00000000-0000-0000-0000-000000000000", "", nil},
		{1, "/v1/session/destroy/00000000-0000-0000-0000-000000000000", "", nil},
		{0, "/v1/session/info/x", "index=2&wait=2ms", nil},
		{0, "/v1/session/node/test-node", "consistent", nil},
		{0, "/v1/session/list", "", nil},
		{0, "/v1/catalog/nodes", "index=1&wait=1ms", nil},
		{0, "/v1/health/node/test-node", "", nil},
		{0, "/v1/agent/self", "", nil},
		{0, "/v1/operator/raft/configuration", "stale", nil},
		{2, "/v1/operator/raft/peer", "id=nope", nil},
		{1, "/v1/agent/join/1.2.3.4:5", "", nil},
		{1, "/v1/agent/force-leave/x", "prune", nil},
		{0, "/v1/snapshot", "", nil},
		{1, "/v1/snapshot", "", []byte("garbage")},
		{0, "/v1/status/leader", "", nil},
		{0, "/v1/agent/connect/ca/roots", "index=1&wait=1ms", nil},
		{0, "/v1/connect/ca/roots", "stale&pretty", nil},
		{0, "/v1/connect/ca/configuration", "dc=other", nil},
		{1, "/v1/kv//lead", "flags=1", []byte("v")},
		{0, "/v1/kv/a\x01b", "raw", nil},
		{0, "/v1/kv", "keys", nil},
		{1, "/v1/txn", "", []byte(`[{},{"KV":null},{"KV":{"Verb":"bogus"}},{"KV":{"Verb":"get","Key":"k"}}]`)},
		{1, "/v1/session/create", "", []byte(`{"Node":"","Checks":null,"NodeChecks":[]}`)},
		{1, "/v1/session/create", "", []byte(`{"Checks":[],"NodeChecks":null}`)},
	}
	for _, s := range seeds {
		f.Add(s.m, s.path, s.query, s.body)
	}
	a := startAgent(f)
	h := a.routes()
	f.Fuzz(func(t *testing.T, m byte, path, query string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if strings.HasSuffix(path, "/v1/agent/leave") {
			return // it would end the shared agent
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req := (&http.Request{
			Method:        fuzzMethods[int(m)%len(fuzzMethods)],
			URL:           &url.URL{Path: path, RawQuery: query},
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Host:          "localhost",
			RequestURI:    path,
		}).WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if n := a.panics.Load(); n != 0 {
			t.Fatalf("%d handler panic(s); last input %s %q ?%q", n, req.Method, path, query)
		}
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d for %s %q ?%q", rec.Code, req.Method, path, query)
		}
	})
}
