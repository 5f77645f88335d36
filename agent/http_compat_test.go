package agent

// Consul's exact answers for the cases its own handlers special-case:
// methods (405 and OPTIONS), unknown paths, ?dc, missing path arguments,
// flag parsing, the KV lock verbs' edge cases, session JSON and txn
// limits. Each expectation was checked against Consul's agent/ and
// agent/consul/ sources.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

func TestHTTPConsulCompat(t *testing.T) {
	a := startAgent(t)
	code, _, sid := do(t, "PUT", a.url("/v1/session/create"), nil)
	require.Equal(t, 200, code)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(sid), &created))
	code, _, _ = do(t, "PUT", a.url("/v1/kv/held?acquire="+created.ID), strings.NewReader("v"))
	require.Equal(t, 200, code)
	code, _, _ = do(t, "PUT", a.url("/v1/kv/plain"), strings.NewReader("p"))
	require.Equal(t, 200, code)
	_, ph, _ := do(t, "GET", a.url("/v1/kv/plain"), nil)
	plainIdx := ph.Get("X-Consul-Index")
	tooBig := strings.Repeat("x", maxKVValueBytes+1)
	other := "00000000-0000-0000-0000-000000000001"

	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		// want is the exact body when set; has a substring of it.
		want, has string
		header    map[string]string
	}{
		// Methods: Consul's wrap lists OPTIONS first, comma-separated.
		{name: "options kv", method: "OPTIONS", path: "/v1/kv/plain", code: 200, want: "", header: map[string]string{"Allow": "OPTIONS,GET,PUT,DELETE"}},
		{name: "post kv", method: "POST", path: "/v1/kv/plain", code: 405, want: "method POST not allowed", header: map[string]string{"Allow": "OPTIONS,GET,PUT,DELETE"}},
		{name: "head kv", method: "HEAD", path: "/v1/kv/plain", code: 405, want: ""},
		{name: "delete leader", method: "DELETE", path: "/v1/status/leader", code: 405, want: "method DELETE not allowed", header: map[string]string{"Allow": "OPTIONS,GET"}},
		{name: "post txn", method: "POST", path: "/v1/txn", body: "[]", code: 405, header: map[string]string{"Allow": "OPTIONS,PUT"}},
		{name: "get session create", method: "GET", path: "/v1/session/create", code: 405, want: "method GET not allowed"},
		{name: "options snapshot", method: "OPTIONS", path: "/v1/snapshot", code: 200, header: map[string]string{"Allow": "OPTIONS,GET,PUT"}},

		// Unknown paths.
		{name: "unknown v1", method: "GET", path: "/v1/nothing", code: 404, want: "Invalid URL path: not a recognized HTTP API endpoint\n"},
		{name: "unknown non-v1", method: "GET", path: "/nothing", code: 404, want: "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"},
		{name: "exact path with suffix", method: "GET", path: "/v1/status/leader/x", code: 404},

		// Missing path arguments.
		{name: "info no id", method: "GET", path: "/v1/session/info/", code: 400, want: "Missing session"},
		{name: "destroy no id", method: "PUT", path: "/v1/session/destroy/", code: 400, want: "Missing session"},
		{name: "renew no id", method: "PUT", path: "/v1/session/renew/", code: 400, want: "Missing session"},
		{name: "node no name", method: "GET", path: "/v1/session/node/", code: 400, want: "Missing node name"},
		{name: "health node no name", method: "GET", path: "/v1/health/node/", code: 400, want: "Missing node name"},
		{name: "put no key", method: "PUT", path: "/v1/kv/", code: 400, want: "Missing key name"},
		{name: "delete no key", method: "DELETE", path: "/v1/kv/", code: 400, want: "Missing key name"},

		// Another datacenter: Consul has no route to it.
		{name: "kv other dc", method: "GET", path: "/v1/kv/plain?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "kv put other dc", method: "PUT", path: "/v1/kv/plain?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "leader other dc", method: "GET", path: "/v1/status/leader?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "peers other dc", method: "GET", path: "/v1/status/peers?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "session list other dc", method: "GET", path: "/v1/session/list?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "txn other dc", method: "PUT", path: "/v1/txn?dc=dc2", body: "[]", code: 500, want: "No path to datacenter"},
		{name: "snapshot other dc", method: "GET", path: "/v1/snapshot?dc=dc2", code: 500, want: "No path to datacenter"},
		{name: "own dc", method: "GET", path: "/v1/kv/plain?dc=dc1&raw", code: 200, want: "p"},
		{name: "agent self ignores dc", method: "GET", path: "/v1/agent/self?dc=dc2", code: 200},

		// Flags: presence counts; numbers that do not parse are Consul's 500.
		{name: "recurse=false recurses", method: "GET", path: "/v1/kv/pla?recurse=false", code: 200, has: `"Key":"plain"`},
		{name: "bad cas", method: "PUT", path: "/v1/kv/plain?cas=x", code: 500, want: `strconv.ParseUint: parsing "x": invalid syntax`},
		{name: "bad delete cas", method: "DELETE", path: "/v1/kv/plain?cas=-1", code: 500, want: `strconv.ParseUint: parsing "-1": invalid syntax`},
		{name: "conflicting put", method: "PUT", path: "/v1/kv/plain?release=x&cas=1", code: 400, want: "Conflicting flags: cas=1&release=x\n"},
		{name: "conflicting delete", method: "DELETE", path: "/v1/kv/plain?recurse&cas=0", code: 400, want: "Conflicting flags: cas=0&recurse=\n"},
		{name: "bad wait on put", method: "PUT", path: "/v1/kv/plain?wait=x", code: 400, want: "Invalid wait time"},

		// Locks.
		{name: "acquire empty session", method: "PUT", path: "/v1/kv/l?acquire=", code: 500, want: "missing session"},
		{name: "release empty session", method: "PUT", path: "/v1/kv/l?release=", code: 500, want: "missing session"},
		{name: "acquire unknown session", method: "PUT", path: "/v1/kv/l?acquire=bogus", code: 500, want: `invalid session "bogus"`},
		{name: "release by non-holder", method: "PUT", path: "/v1/kv/held?release=" + other, code: 200, want: "false"},
		{name: "release of a missing key", method: "PUT", path: "/v1/kv/nokey?release=" + other, code: 200, want: "false"},
		{name: "re-acquire by holder", method: "PUT", path: "/v1/kv/held?acquire=" + created.ID, body: "v2", code: 200, want: "true"},
		{name: "unlocked key has no Session field", method: "GET", path: "/v1/kv/plain", code: 200, has: `"Flags":0,"Value":"cA==","CreateIndex"`},

		// Sizes.
		{name: "kv value too large", method: "PUT", path: "/v1/kv/big", body: tooBig, code: 413,
			want: fmt.Sprintf("Request body(%d bytes) too large, max size: %d bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.", len(tooBig), maxKVValueBytes)},
		{name: "txn too many ops", method: "PUT", path: "/v1/txn", body: "[" + strings.Repeat(`{"KV":{"Verb":"get","Key":"x"}},`, maxTxnOps) + `{"KV":{"Verb":"get","Key":"x"}}]`, code: 413,
			want: fmt.Sprintf("Transaction contains too many operations (%d > %d)", maxTxnOps+1, maxTxnOps)},
		{name: "txn empty body", method: "PUT", path: "/v1/txn", code: 400, want: "Failed to parse body: EOF"},
		{name: "txn empty list", method: "PUT", path: "/v1/txn", body: "[]", code: 200, want: `{"Results":null,"Errors":null}`},
		{name: "txn deletes only", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"delete","Key":"gone"}}]`, code: 200, want: `{"Results":null,"Errors":null}`},
		// Consul's convertOps skips an element with no operation (the
		// ones after it are numbered without it); its state store runs
		// every op of a failing transaction and reports each error.
		{name: "txn element without op skipped", method: "PUT", path: "/v1/txn", body: `[{},{"KV":null,"Node":null},{"KV":{"Verb":"get","Key":"nokey"}}]`, code: 409,
			want: `{"Results":null,"Errors":[{"OpIndex":0,"What":"key \"nokey\" doesn't exist"}]}` + "\n"},
		{name: "txn only empty elements", method: "PUT", path: "/v1/txn", body: `[{},{"KV":null}]`, code: 200, want: `{"Results":null,"Errors":null}`},
		{name: "txn unknown verb among failing reads", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"get","Key":"nokey"}},{"KV":{"Verb":"bogus","Key":"x"}},{"KV":{"Verb":"check-not-exists","Key":"plain"}},{"KV":{"Verb":"get","Key":"plain"}}]`, code: 409,
			want: `{"Results":null,"Errors":[{"OpIndex":0,"What":"key \"nokey\" doesn't exist"},{"OpIndex":1,"What":"unknown KV verb \"bogus\""},{"OpIndex":2,"What":"key \"plain\" exists"}]}` + "\n"},
		{name: "txn unknown verb in a write", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"set","Key":"w"}},{"KV":{"Verb":"bogus","Key":"x"}}]`, code: 409,
			want: `{"Results":null,"Errors":[{"OpIndex":1,"What":"unknown KV verb \"bogus\""}]}` + "\n"},
		{name: "txn conflict shape", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"check-not-exists","Key":"plain"}}]`, code: 409,
			want: `{"Results":null,"Errors":[{"OpIndex":0,"What":"key \"plain\" exists"}]}` + "\n"},

		// ?pretty: Consul's indented JSON; text answers unchanged.
		{name: "pretty kv", method: "GET", path: "/v1/kv/plain?pretty", code: 200,
			want: "[\n    {\n        \"LockIndex\": 0,\n        \"Key\": \"plain\",\n        \"Flags\": 0,\n        \"Value\": \"cA==\",\n        \"CreateIndex\": " + "{idx},\n        \"ModifyIndex\": {idx}\n    }\n]\n"},
		{name: "pretty leader", method: "GET", path: "/v1/status/leader?pretty", code: 200, want: "\"127.0.0.1:8300\"\n"},
		{name: "pretty error", method: "GET", path: "/v1/kv/?pretty", code: 400, want: "Missing key name"},
		{name: "pretty 404", method: "GET", path: "/v1/kv/nokey?pretty", code: 404, want: ""},

		// Consul CE: no namespaces or partitions, no unknown body fields.
		{name: "ns query", method: "GET", path: "/v1/kv/plain?ns=team", code: 400, want: `Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`},
		{name: "partition query", method: "GET", path: "/v1/session/list?partition=p", code: 400, want: `Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature`},
		{name: "empty ns is fine", method: "GET", path: "/v1/kv/plain?ns=&raw", code: 200, want: "p"},
		{name: "session unknown field", method: "PUT", path: "/v1/session/create", body: `{"Nme":"x"}`, code: 400, want: `Request decode failed: json: unknown field "Nme"`},
		{name: "session namespace field", method: "PUT", path: "/v1/session/create", body: `{"Namespace":"x"}`, code: 400, want: `Request decode failed: json: unknown field "Namespace" - Namespaces are a Consul Enterprise feature`},
		{name: "session read back fields", method: "PUT", path: "/v1/session/create", body: `{"ID":"x","CreateIndex":1,"ModifyIndex":2,"name":"lower"}`, code: 200, has: `{"ID":"`},
		{name: "txn unknown field", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"get","Key":"x","Bogus":1}}]`, code: 400, want: `Failed to parse body: json: unknown field "Bogus"`},
		{name: "txn client's empty namespace", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"get-tree","Key":"zz","Namespace":""},"Node":null,"Service":null,"Check":null}]`, code: 200, want: `{"Results":null,"Errors":null}`},

		// Agent.
		{name: "force-leave self is a no-op", method: "PUT", path: "/v1/agent/force-leave/test-node", code: 200, want: ""},
		{name: "force-leave unknown", method: "PUT", path: "/v1/agent/force-leave/nobody", code: 500, want: "agent: No node found with name 'nobody'"},
		{name: "join self", method: "PUT", path: "/v1/agent/join/127.0.0.1:8301", code: 200, want: ""},
		{name: "wan members", method: "GET", path: "/v1/agent/members?wan=1", code: 200, has: `"Name":"test-node.dc1"`},
		{name: "bare wan is lan", method: "GET", path: "/v1/agent/members?wan", code: 200, has: `"Name":"test-node"`},
		{name: "serf address", method: "GET", path: "/v1/agent/self", code: 200, has: `"SerfAdvertiseAddrLAN":"tcp://127.0.0.1:8301"`},
		{name: "connect enabled", method: "GET", path: "/v1/agent/self", code: 200, has: `"ConnectEnabled":true`},

		// Operator.
		{name: "remove peer without target", method: "DELETE", path: "/v1/operator/raft/peer", code: 400, want: "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"},
		{name: "remove peer both", method: "DELETE", path: "/v1/operator/raft/peer?id=x&address=y", code: 400, want: "Must specify only one of ?id or ?address"},
		{name: "remove unknown id", method: "DELETE", path: "/v1/operator/raft/peer?id=x", code: 500, want: `id "x" was not found in the Raft configuration`},
		{name: "remove unknown address", method: "DELETE", path: "/v1/operator/raft/peer?address=1.2.3.4:8300", code: 500, want: `address "1.2.3.4:8300" was not found in the Raft configuration`},
		{name: "raft configuration last index", method: "GET", path: "/v1/operator/raft/configuration", code: 200, has: `"Voter":true,"LastIndex":`},

		// Sessions.
		{name: "renew unknown", method: "PUT", path: "/v1/session/renew/" + other, code: 404, want: "Session id '" + other + "' not found"},
		{name: "info unknown", method: "GET", path: "/v1/session/info/" + other, code: 200, want: "[]"},
		{name: "info malformed", method: "GET", path: "/v1/session/info/xyz", code: 200, want: "[]"},
		{name: "node unknown", method: "GET", path: "/v1/session/node/nobody", code: 200, want: "[]"},
		{name: "bad behavior", method: "PUT", path: "/v1/session/create", body: `{"Behavior":"explode"}`, code: 500, want: "Invalid Behavior setting 'explode'"},
		{name: "unparsable ttl", method: "PUT", path: "/v1/session/create", body: `{"TTL":"soon"}`, code: 500, want: `Session TTL 'soon' invalid: time: invalid duration "soon"`},
		{name: "ttl too long", method: "PUT", path: "/v1/session/create", body: `{"TTL":"25h"}`, code: 500, has: "Invalid Session TTL '90000000000000', must be between ["},
		{name: "missing node check", method: "PUT", path: "/v1/session/create", body: `{"NodeChecks":["dne"]}`, code: 500, want: "Missing check 'dne' registration"},
		{name: "missing node", method: "PUT", path: "/v1/session/create", body: `{"Node":"nobody"}`, code: 500, want: "Missing node registration"},
		{name: "empty node", method: "PUT", path: "/v1/session/create", body: `{"Node":""}`, code: 500, want: "Must provide Node"},
		{name: "checks not a list", method: "PUT", path: "/v1/session/create", body: `{"Checks":"serfHealth"}`, code: 400, has: "Request decode failed: "},
		{name: "missing legacy check", method: "PUT", path: "/v1/session/create", body: `{"Checks":["dne"]}`, code: 500, want: "Missing check 'dne' registration"},
		{name: "bad session json", method: "PUT", path: "/v1/session/create", body: `{"TTL":`, code: 400, has: "Request decode failed: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			code, h, b := do(t, tc.method, a.url(tc.path), body)
			require.Equal(t, tc.code, code, "body: %s", b)
			tc.want = strings.ReplaceAll(tc.want, "{idx}", plainIdx)
			if tc.want != "" || tc.has == "" && tc.code != 200 && tc.method != "HEAD" && tc.name != "exact path with suffix" && tc.name != "post txn" {
				require.Equal(t, tc.want, b)
			}
			require.Contains(t, b, tc.has)
			for k, v := range tc.header {
				require.Equal(t, v, h.Get(k), k)
			}
		})
	}
}

// TestHTTPSessionJSON checks the session fields Consul's api tests compare
// whole: no Checks, NodeChecks never null, ServiceChecks null, LockDelay
// in nanoseconds as given (also above the 60s cap applied on release).
func TestHTTPSessionJSON(t *testing.T) {
	a := startAgent(t)
	for _, tc := range []struct {
		name, body string
		want       map[string]any
	}{
		{name: "defaults", body: "", want: map[string]any{"NodeChecks": []any{"serfHealth"}, "ServiceChecks": nil, "LockDelay": 15e9, "Behavior": "release", "TTL": "", "Name": ""}},
		{name: "no checks", body: `{"NodeChecks":[]}`, want: map[string]any{"NodeChecks": []any{}, "ServiceChecks": nil}},
		{name: "deprecated empty checks", body: `{"Checks":[]}`, want: map[string]any{"NodeChecks": []any{}}},
		{name: "lock delay string", body: `{"LockDelay":"90s"}`, want: map[string]any{"LockDelay": 90e9}},
		{name: "lock delay small string is seconds", body: `{"LockDelay":"5ns"}`, want: map[string]any{"LockDelay": 5e9}},
		{name: "lock delay small number is seconds", body: `{"LockDelay":7}`, want: map[string]any{"LockDelay": 7e9}},
		{name: "lock delay nanoseconds", body: `{"LockDelay":2000000000}`, want: map[string]any{"LockDelay": 2e9}},
		{name: "lock delay zero is seconds too", body: `{"LockDelay":"0s"}`, want: map[string]any{"LockDelay": 0.0}},
		{name: "zero ttl kept as given", body: `{"TTL":"0s"}`, want: map[string]any{"TTL": "0s"}},
		// Consul's defaults, overwritten by the body, then
		// fixupEmptySessionChecks.
		{name: "null checks is none", body: `{"Checks":null}`, want: map[string]any{"NodeChecks": []any{}}},
		{name: "null node checks is none", body: `{"NodeChecks":null}`, want: map[string]any{"NodeChecks": []any{}}},
		{name: "empty checks empties node checks", body: `{"Checks":[],"NodeChecks":["serfHealth"]}`, want: map[string]any{"NodeChecks": []any{}}},
		{name: "default checks defer to node checks", body: `{"Checks":["serfHealth"],"NodeChecks":[]}`, want: map[string]any{"NodeChecks": []any{}}},
		{name: "lower-case checks", body: `{"checks":["serfHealth"]}`, want: map[string]any{"NodeChecks": []any{"serfHealth"}}},
		{name: "null node is this node", body: `{"Node":null}`, want: map[string]any{"Node": "test-node"}},
		{name: "ttl and name", body: `{"TTL":"30s","Name":"n","Behavior":"delete"}`, want: map[string]any{"TTL": "30s", "Name": "n", "Behavior": "delete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := do(t, "PUT", a.url("/v1/session/create"), strings.NewReader(tc.body))
			require.Equal(t, 200, code, b)
			var created struct{ ID string }
			require.NoError(t, json.Unmarshal([]byte(b), &created))
			code, _, b = do(t, "GET", a.url("/v1/session/info/"+created.ID), nil)
			require.Equal(t, 200, code, b)
			var got []map[string]any
			require.NoError(t, json.Unmarshal([]byte(b), &got))
			require.Len(t, got, 1)
			require.NotContains(t, got[0], "Checks")
			for k, v := range tc.want {
				require.Contains(t, got[0], k)
				require.Equal(t, v, got[0][k], k)
			}
		})
	}
}

// TestHTTPReadHeaders: a snapshot save sends the read headers before its
// body; a read-only txn reports only staleness (no index, no consistency).
func TestHTTPReadHeaders(t *testing.T) {
	a := startAgent(t)
	code, h, _ := do(t, "GET", a.url("/v1/snapshot"), nil)
	require.Equal(t, 200, code)
	require.Equal(t, "allow", h.Get("X-Consul-Default-ACL-Policy"))
	require.Equal(t, "true", h.Get("X-Consul-KnownLeader"))
	require.Equal(t, "0", h.Get("X-Consul-LastContact"))
	require.NotEmpty(t, h.Get("X-Consul-Index"))

	code, h, b := do(t, "PUT", a.url("/v1/txn?stale"), strings.NewReader(`[{"KV":{"Verb":"get-tree","Key":"x"}}]`))
	require.Equal(t, 200, code, b)
	require.Equal(t, "true", h.Get("X-Consul-KnownLeader"))
	require.Equal(t, "0", h.Get("X-Consul-LastContact"))
	require.Empty(t, h.Get("X-Consul-Index"))
	require.Empty(t, h.Get("X-Consul-Effective-Consistency"))

	// A write txn reports none.
	code, h, _ = do(t, "PUT", a.url("/v1/txn"), strings.NewReader(`[{"KV":{"Verb":"set","Key":"x","Value":"eA=="}}]`))
	require.Equal(t, 200, code)
	require.Empty(t, h.Get("X-Consul-KnownLeader"))
	require.Equal(t, "allow", h.Get("X-Consul-Default-ACL-Policy"))

	// The client's QueryMeta, from a parked (blocking) answer too.
	kv := apiClient(t, a).KV()
	_, meta, err := kv.Get("x", nil)
	require.NoError(t, err)
	require.Equal(t, "allow", meta.DefaultACLPolicy)
	require.True(t, meta.KnownLeader)
	go func() { _, _ = kv.Put(&api.KVPair{Key: "x", Value: []byte("y")}, nil) }()
	_, meta2, err := kv.Get("x", &api.QueryOptions{WaitIndex: meta.LastIndex})
	require.NoError(t, err)
	require.Greater(t, meta2.LastIndex, meta.LastIndex)
	require.Equal(t, "allow", meta2.DefaultACLPolicy)

	code, _, b = do(t, "GET", a.url("/v1/agent/self"), nil)
	require.Equal(t, 200, code)
	var self struct {
		Config map[string]any
		Member map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(b), &self))
	for _, k := range []string{"Datacenter", "PrimaryDatacenter", "NodeName", "NodeID", "Revision", "Server", "Version", "BuildDate"} {
		require.Contains(t, self.Config, k)
	}
	require.Equal(t, "127.0.0.1", self.Member["Addr"])

	// A blocking ?pretty query waits in place (no parking) and indents.
	_, h, _ = do(t, "GET", a.url("/v1/kv/x"), nil)
	code, h2, b := do(t, "GET", a.url("/v1/kv/x?pretty&wait=50ms&index="+h.Get("X-Consul-Index")), nil)
	require.Equal(t, 200, code)
	require.Equal(t, h.Get("X-Consul-Index"), h2.Get("X-Consul-Index"))
	require.True(t, strings.HasPrefix(b, "[\n    {\n"), b)

	// Consul CE refuses a namespace header; a token header is ignored.
	for hdr, wantCode := range map[string]int{"X-Consul-Namespace": 400, "X-Consul-Partition": 400, "X-Consul-Token": 200} {
		req, err := http.NewRequest("GET", a.url("/v1/kv/x"), nil)
		require.NoError(t, err)
		req.Header.Set(hdr, "v")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, wantCode, resp.StatusCode, hdr)
	}

	// Consul's Index page (no UI).
	code, _, b = do(t, "GET", a.url("/"), nil)
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.HasPrefix(b, "Consul Agent"))
}

// TestClusterFollowerCompat: through a follower, a forwarded write's
// refusal keeps Consul's text (no store prefix), reads report staleness,
// and the per-route rules hold as on the leader.
func TestClusterFollowerCompat(t *testing.T) {
	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var f *Agent
	for _, a := range agents {
		if a != leader {
			f = a
			break
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		code, _, _ := do(t, "PUT", f.url("/v1/kv/ready"), strings.NewReader("1"))
		return code == 200
	}, "writes through the follower")
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
		header                   map[string]string
	}{
		{name: "acquire unknown session", method: "PUT", path: "/v1/kv/l?acquire=bogus", code: 500, want: `invalid session "bogus"`},
		{name: "session on a missing node", method: "PUT", path: "/v1/session/create", body: `{"Node":"nobody"}`, code: 500, want: "Missing node registration"},
		{name: "renew unknown", method: "PUT", path: "/v1/session/renew/x", code: 404, want: "Session id 'x' not found"},
		{name: "other dc", method: "GET", path: "/v1/kv/ready?dc=elsewhere", code: 500, want: "No path to datacenter"},
		{name: "txn conflict", method: "PUT", path: "/v1/txn", body: `[{"KV":{"Verb":"check-not-exists","Key":"ready"}}]`, code: 409,
			want: `{"Results":null,"Errors":[{"OpIndex":0,"What":"key \"ready\" exists"}]}` + "\n"},
		{name: "stale read", method: "GET", path: "/v1/kv/ready?stale&raw", code: 200, want: "1",
			header: map[string]string{"X-Consul-KnownLeader": "true", "X-Consul-Effective-Consistency": "stale"}},
		{name: "405", method: "POST", path: "/v1/kv/ready", code: 405, want: "method POST not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			code, h, b := do(t, tc.method, f.url(tc.path), body)
			require.Equal(t, tc.code, code, "body: %s", b)
			require.Equal(t, tc.want, b)
			for k, v := range tc.header {
				require.Equal(t, v, h.Get(k), k)
			}
		})
	}
}
