package agent

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/agentd/agentd/agent/config"
	"github.com/stretchr/testify/require"
)

// noRedirect sends a request as written and returns the first answer:
// status, Location and body.
func noRedirect(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestHTTPPathCanonical: Consul's HTTP server refuses unprintable paths
// (cleanhttp.PrintablePathCheckHandler: 400, empty body) and redirects
// unclean ones (ServeMux: 301 to the cleaned path), KV keys included, so
// "a//b" and "/lead" cannot be written as keys (hashicorp/consul#3476).
func TestHTTPPathCanonical(t *testing.T) {
	a := startAgent(t)
	code, _, _ := do(t, "PUT", a.url("/v1/kv/a/b%20c"), strings.NewReader("v"))
	require.Equal(t, 200, code)
	for _, tc := range []struct {
		name, method, path string
		code               int
		location, body     string
	}{
		{name: "control char", method: "PUT", path: "/v1/kv/x%01y", code: 400},
		{name: "newline", method: "GET", path: "/v1/kv/x%0Ay", code: 400},
		{name: "tab", method: "DELETE", path: "/v1/kv/x%09y", code: 400},
		{name: "no-break space", method: "PUT", path: "/v1/kv/x%C2%A0y", code: 400},
		{name: "unprintable elsewhere", method: "GET", path: "/v1/status/leader%7F", code: 400},
		{name: "space is printable", method: "GET", path: "/v1/kv/a/b%20c?raw", code: 200, body: "v"},
		{name: "invalid utf-8 is printable", method: "GET", path: "/v1/kv/x%FFy", code: 404},
		{name: "unicode", method: "GET", path: "/v1/kv/ключ/✓", code: 404},
		{name: "double slash get", method: "GET", path: "/v1/kv/a//b%20c?raw", code: 301, location: "/v1/kv/a/b%20c?raw",
			body: "<a href=\"/v1/kv/a/b%20c?raw\">Moved Permanently</a>.\n\n"},
		{name: "double slash put", method: "PUT", path: "/v1/kv/a//b", code: 301, location: "/v1/kv/a/b"},
		{name: "leading slash", method: "PUT", path: "/v1/kv//lead?flags=1", code: 301, location: "/v1/kv/lead?flags=1"},
		{name: "dot", method: "DELETE", path: "/v1/kv/a/./b", code: 301, location: "/v1/kv/a/b"},
		{name: "dot dot", method: "GET", path: "/v1/kv/a/../b/", code: 301, location: "/v1/kv/b/", body: "<a href=\"/v1/kv/b/\">Moved Permanently</a>.\n\n"},
		{name: "escaped slash is a key byte", method: "GET", path: "/v1/kv/%2Flead", code: 404},
		{name: "escaped dots are a key", method: "GET", path: "/v1/kv/%2E%2E/x", code: 404},
		{name: "kv root without slash", method: "GET", path: "/v1/kv", code: 301, location: "/v1/kv/", body: "<a href=\"/v1/kv/\">Moved Permanently</a>.\n\n"},
		{name: "session info root", method: "GET", path: "/v1/session/info", code: 301, location: "/v1/session/info/", body: "<a href=\"/v1/session/info/\">Moved Permanently</a>.\n\n"},
		{name: "exact path unchanged", method: "GET", path: "/v1/status/leader", code: 200, body: `"127.0.0.1:8300"`},
		{name: "trailing slash key", method: "GET", path: "/v1/kv/ok/", code: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, loc, body := noRedirect(t, tc.method, a.url(tc.path), "v")
			require.Equal(t, tc.code, code, "body %q", body)
			require.Equal(t, tc.location, loc)
			require.Equal(t, tc.body, body)
		})
	}
}

// TestHTTPUnprintableFilterOff: disable_http_unprintable_char_filter lets
// such keys through, as Consul's escape hatch for old keys.
func TestHTTPUnprintableFilterOff(t *testing.T) {
	a := startAgentWith(t, func(c *config.Config) { c.DisableHTTPUnprintableCharFilter = true })
	code, _, body := noRedirect(t, "PUT", a.url("/v1/kv/x%01y"), "v")
	require.Equal(t, 200, code, body)
	code, _, body = noRedirect(t, "GET", a.url("/v1/kv/x%01y?raw"), "")
	require.Equal(t, 200, code)
	require.Equal(t, "v", body)
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":             "/",
		"/":            "/",
		"a":            "/a",
		"/v1/kv/a//b":  "/v1/kv/a/b",
		"/v1/kv//":     "/v1/kv/",
		"/v1/kv/a/..":  "/v1/kv",
		"/v1/kv/a/../": "/v1/kv/",
		"/v1/kv/./":    "/v1/kv/",
		"/../x":        "/x",
		"/v1/kv/a%2F":  "/v1/kv/a%2F",
	} {
		require.Equal(t, want, cleanPath(in), "%q", in)
	}
}

// TestHTTPPathCanonicalInline: a connection whose KV GET parked is served
// in place afterwards (http_inline.go); its next requests get the same
// path checks as any other.
func TestHTTPPathCanonicalInline(t *testing.T) {
	a := startAgent(t)
	code, _, _ := do(t, "PUT", a.url("/v1/kv/inl"), strings.NewReader("v"))
	require.Equal(t, 200, code)
	_, h, _ := do(t, "GET", a.url("/v1/kv/inl"), nil)
	c, err := net.Dial("tcp", a.HTTPAddr())
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	head, _ := exchange(t, c, br, "GET", "/v1/kv/inl?index="+h.Get("X-Consul-Index")+"&wait=50ms", "HTTP/1.1", "")
	require.Equal(t, "HTTP/1.1 200 OK", head[0], "the parked query times out")
	for _, tc := range []struct{ target, status, location string }{
		{"/v1/kv//inl?raw", "HTTP/1.1 301 Moved Permanently", "/v1/kv/inl?raw"},
		{"/v1/kv/x%01y", "HTTP/1.1 400 Bad Request", ""},
		{"/v1/kv", "HTTP/1.1 301 Moved Permanently", "/v1/kv/"},
		{"/v1/kv/inl?raw", "HTTP/1.1 200 OK", ""},
	} {
		head, _ := exchange(t, c, br, "GET", tc.target, "HTTP/1.1", "")
		require.Equal(t, tc.status, head[0], tc.target)
		loc := ""
		for _, l := range head[1:] {
			if v, ok := strings.CutPrefix(l, "Location: "); ok {
				loc = v
			}
		}
		require.Equal(t, tc.location, loc, tc.target)
	}
}
