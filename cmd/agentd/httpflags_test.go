package main

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHTTPFlagsResolve: addresses, schemes, tokens and tenancy as Consul's
// CLI resolves them from flags and environment variables.
func TestHTTPFlagsResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	flagTok, envTok, empty := write("flag.tok", "from-flag-file\n"), write("env.tok", " from-env-file "), write("empty.tok", "\n")
	for _, tc := range []struct {
		name  string
		env   map[string]string
		flags httpFlags
		want  clientConfig // compared: scheme, host, pathPrefix, socket, token, user, password
		err   string
	}{
		{name: "default", want: clientConfig{scheme: "http", host: "127.0.0.1:8500"}},
		{name: "env host:port", env: map[string]string{"CONSUL_HTTP_ADDR": "10.0.0.1:8501"}, want: clientConfig{scheme: "http", host: "10.0.0.1:8501"}},
		{name: "env http://", env: map[string]string{"CONSUL_HTTP_ADDR": "http://10.0.0.1:8501"}, want: clientConfig{scheme: "http", host: "10.0.0.1:8501"}},
		{name: "env https://", env: map[string]string{"CONSUL_HTTP_ADDR": "https://c.example:8501"}, want: clientConfig{scheme: "https", host: "c.example:8501"}},
		{name: "path prefix", env: map[string]string{"CONSUL_HTTP_ADDR": "https://proxy:443/consul/api"}, want: clientConfig{scheme: "https", host: "proxy:443", pathPrefix: "/consul/api"}},
		{name: "unix", env: map[string]string{"CONSUL_HTTP_ADDR": "unix:///tmp/consul.sock"}, want: clientConfig{scheme: "http", host: "/tmp/consul.sock", socket: "/tmp/consul.sock"}},
		{name: "flag beats env", env: map[string]string{"CONSUL_HTTP_ADDR": "10.0.0.1:1"}, flags: httpFlags{addr: "10.0.0.2:2"}, want: clientConfig{scheme: "http", host: "10.0.0.2:2"}},
		{name: "CONSUL_HTTP_SSL", env: map[string]string{"CONSUL_HTTP_SSL": "true", "CONSUL_HTTP_ADDR": "c:8501"}, want: clientConfig{scheme: "https", host: "c:8501"}},
		{name: "CONSUL_HTTP_SSL keeps https over http://", env: map[string]string{"CONSUL_HTTP_SSL": "1", "CONSUL_HTTP_ADDR": "http://c:8501"}, want: clientConfig{scheme: "https", host: "c:8501"}},
		{name: "unknown scheme", flags: httpFlags{addr: "ftp://x"}, err: "Unknown protocol scheme: ftp"},
		{name: "env token", env: map[string]string{"CONSUL_HTTP_TOKEN": "e"}, want: clientConfig{scheme: "http", host: "127.0.0.1:8500", token: "e"}},
		{name: "env token file beats env token", env: map[string]string{"CONSUL_HTTP_TOKEN": "e", "CONSUL_HTTP_TOKEN_FILE": envTok},
			want: clientConfig{scheme: "http", host: "127.0.0.1:8500", token: "from-env-file"}},
		{name: "-token beats env token file", env: map[string]string{"CONSUL_HTTP_TOKEN_FILE": envTok}, flags: httpFlags{token: "f"},
			want: clientConfig{scheme: "http", host: "127.0.0.1:8500", token: "f"}},
		{name: "-token-file beats -token", flags: httpFlags{token: "f", tokenFile: flagTok},
			want: clientConfig{scheme: "http", host: "127.0.0.1:8500", token: "from-flag-file"}},
		{name: "empty token file falls through", flags: httpFlags{token: "f", tokenFile: empty},
			want: clientConfig{scheme: "http", host: "127.0.0.1:8500", token: "f"}},
		{name: "missing token file", flags: httpFlags{tokenFile: filepath.Join(dir, "nope")}, err: "Error loading token file"},
		{name: "basic auth", env: map[string]string{"CONSUL_HTTP_AUTH": "u:p:w"}, want: clientConfig{scheme: "http", host: "127.0.0.1:8500", user: "u", password: "p:w"}},
		{name: "default namespace", flags: httpFlags{namespace: "default", partition: "default"}, want: clientConfig{scheme: "http", host: "127.0.0.1:8500"}},
		{name: "other namespace", flags: httpFlags{namespace: "team"}, err: "Namespaces are a Consul Enterprise feature"},
		{name: "other partition from env", env: map[string]string{"CONSUL_PARTITION": "p1"}, err: "Admin partitions are a Consul Enterprise feature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_SSL",
				"CONSUL_HTTP_AUTH", "CONSUL_NAMESPACE", "CONSUL_PARTITION"} {
				t.Setenv(k, tc.env[k])
			}
			got, err := tc.flags.resolve()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if got.socket != "" {
				got.host = got.socket
			}
			require.Equal(t, tc.want, clientConfig{scheme: got.scheme, host: got.host, pathPrefix: got.pathPrefix,
				socket: got.socket, token: got.token, user: got.user, password: got.password})
		})
	}
}

// recorder is a fake agent answering one KV key and recording requests.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	switch {
	case req.URL.Path == "/v1/agent/members":
		w.Write([]byte(`[{"Name":"n1","Addr":"127.0.0.1","Port":8301,"Tags":{"role":"consul","dc":"dc1"},"Status":1}]`))
	case req.URL.Path == "/v1/operator/keyring":
		w.Write([]byte(`[{"Datacenter":"dc1","Keys":{"a":1,"b":1},"PrimaryKeys":{"a":1},"NumNodes":1}]`))
	case req.URL.Path == "/v1/operator/raft/configuration":
		w.Write([]byte(`{"Servers":[` +
			`{"ID":"i1","Node":"s1","Address":"10.0.0.1:8300","Leader":true,"Voter":true,"ProtocolVersion":"3","LastIndex":108},` +
			`{"ID":"i2","Node":"s2","Address":"10.0.0.2:8300","Leader":false,"Voter":true,"ProtocolVersion":"3","LastIndex":107},` +
			`{"ID":"i3","Node":"s3","Address":"10.0.0.3:8300","Leader":false,"Voter":false,"ProtocolVersion":"3","LastIndex":100}],"Index":1}`))
	case strings.HasPrefix(req.URL.Path, "/v1/agent/force-leave/"):
	default:
		w.Write([]byte(`[{"Key":"k","Value":"aGk="}]`))
	}
}

func (r *recorder) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

// TestHTTPFlagsOnTheWire: the resolved options reach the request: token
// header, basic auth, ?dc and ?stale, a path prefix, HTTPS verified with
// -ca-file (or CONSUL_CACERT) and a unix socket.
func TestHTTPFlagsOnTheWire(t *testing.T) {
	for _, k := range []string{"CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_SSL", "CONSUL_CACERT"} {
		t.Setenv(k, "")
	}
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	t.Setenv("CONSUL_HTTP_AUTH", "user:pw")
	code, out, errOut := runCmd(t, "", "kv", "get", "-http-addr", srv.URL+"/prefix", "-token", "tok", "-datacenter", "dc2", "-stale", "k")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "hi\n", out)
	r := rec.last()
	require.Equal(t, "/prefix/v1/kv/k", r.URL.Path)
	require.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	require.Equal(t, "dc2", r.URL.Query().Get("dc"))
	require.True(t, r.URL.Query().Has("stale"))
	u, p, ok := r.BasicAuth()
	require.True(t, ok)
	require.Equal(t, "user:pw", u+":"+p)
	t.Setenv("CONSUL_HTTP_AUTH", "")

	tlsSrv := httptest.NewUnstartedServer(rec)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600))
	code, _, errOut = runCmd(t, "", "kv", "get", "-http-addr", tlsSrv.URL, "k")
	require.Equal(t, 1, code, "an unknown CA is refused")
	require.Contains(t, errOut, "certificate")
	code, out, errOut = runCmd(t, "", "kv", "get", "-http-addr", tlsSrv.URL, "-ca-file", caFile, "k")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "hi\n", out)
	t.Setenv("CONSUL_CACERT", caFile)
	t.Setenv("CONSUL_HTTP_ADDR", strings.TrimPrefix(tlsSrv.URL, "https://"))
	t.Setenv("CONSUL_HTTP_SSL", "true")
	code, _, errOut = runCmd(t, "", "kv", "get", "k")
	require.Equal(t, 0, code, errOut)

	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	unixSrv := &http.Server{Handler: rec}
	go unixSrv.Serve(ln)
	defer unixSrv.Close()
	t.Setenv("CONSUL_HTTP_SSL", "")
	t.Setenv("CONSUL_HTTP_ADDR", "unix://"+sock)
	code, out, errOut = runCmd(t, "", "kv", "get", "k")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "hi\n", out)
}

// TestCommandFlagsOnTheWire: per-command flags added for Consul parity
// reach the API as Consul's CLI sends them.
func TestCommandFlagsOnTheWire(t *testing.T) {
	t.Setenv("CONSUL_HTTP_ADDR", "")
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, tc := range []struct {
		args  []string
		code  int
		query map[string]string
		out   string // substring
	}{
		{[]string{"members", "-segment", "_all", "-filter", `Name == "n1"`}, 0, map[string]string{"segment": "_all", "filter": `Name == "n1"`}, "n1"},
		{[]string{"members", "-wan"}, 0, map[string]string{"wan": "1"},
			"Node  Address         Status  Type    Build  Protocol  DC   Partition  Segment\n" +
				"n1    127.0.0.1:8301  alive   server                   dc1  default    <all>\n"},
		{[]string{"force-leave", "-wan", "-prune", "@", "n2"}, 0, map[string]string{"wan": "1", "prune": "1"}, ""},
		{[]string{"keyring", "-list-primary", "-relay-factor", "2", "-local-only"}, 0,
			map[string]string{"relay-factor": "2", "local-only": "true"}, "primary encryption keys...\n\ndc1 (LAN):\n  a [1/1]\n"},
		{[]string{"keyring", "-list"}, 0, map[string]string{}, "  a [1/1]\n  b [1/1]\n"},
		{[]string{"operator", "raft", "list-peers", "-stale"}, 0, map[string]string{"stale": ""},
			"Node  ID  Address        State     Voter  RaftProtocol  Commit Index  Trails Leader By\n" +
				"s1    i1  10.0.0.1:8300  leader    true   3             108           -\n" +
				"s2    i2  10.0.0.2:8300  follower  true   3             107           1 commit\n" +
				"s3    i3  10.0.0.3:8300  follower  false  3             100           8 commits\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, "", withAddr(tc.args, srv.URL)...)
			require.Equal(t, tc.code, code, errOut)
			require.Contains(t, out, tc.out)
			q := rec.last().URL.Query()
			for k, v := range tc.query {
				require.True(t, q.Has(k), k)
				require.Equal(t, v, q.Get(k), k)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"keyring", "-list", "-relay-factor", "6"}, "Relay factor must be in range: [0, 5]"},
		{[]string{"keyring", "-install", "k", "-local-only"}, "Cannot use -local-only with other actions"},
		{[]string{"keyring", "-list", "-list-primary"}, "Exactly one operation"},
		{[]string{"kv", "get", "-namespace", "team", "@", "k"}, "Namespaces are a Consul Enterprise feature"},
	} {
		code, _, errOut := runCmd(t, "", withAddr(tc.args, srv.URL)...)
		require.Equal(t, 1, code, tc.args)
		require.Contains(t, errOut, tc.err)
	}
}

// withAddr puts -http-addr addr where args hold "@" (flags end at the
// first argument), else at the end.
func withAddr(args []string, addr string) []string {
	var out []string
	for _, a := range args {
		if a == "@" {
			out = append(out, "-http-addr", addr)
			continue
		}
		out = append(out, a)
	}
	if len(out) == len(args) {
		out = append(out, "-http-addr", addr)
	}
	return out
}
