package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// httpFlags are the flags every API-talking command takes, as Consul's CLI:
// -http-addr (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500), -token
// ($CONSUL_HTTP_TOKEN), -datacenter, -stale.
type httpFlags struct {
	addr, token, dc string
	stale           bool
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("CONSUL_HTTP_ADDR")
	if def == "" {
		def = "127.0.0.1:8500"
	}
	fs.StringVar(&h.addr, "http-addr", def, "address of the agent's HTTP API ($CONSUL_HTTP_ADDR)")
	fs.StringVar(&h.token, "token", os.Getenv("CONSUL_HTTP_TOKEN"), "ACL token ($CONSUL_HTTP_TOKEN)")
	fs.StringVar(&h.dc, "datacenter", "", "datacenter to query (default: the agent's)")
	fs.BoolVar(&h.stale, "stale", false, "allow any server to answer reads")
}

// client is a minimal Consul HTTP API client.
type client struct {
	base  *url.URL
	hc    *http.Client
	token string
	dc    string
	stale bool
}

// newClient parses addr as Consul does: host:port, http://host:port, or
// unix:///path/to/socket.
func (h *httpFlags) client() (*client, error) {
	addr := h.addr
	c := &client{hc: &http.Client{Timeout: 15 * time.Minute}, token: h.token, dc: h.dc, stale: h.stale}
	switch {
	case strings.HasPrefix(addr, "unix://"):
		sock := strings.TrimPrefix(addr, "unix://")
		c.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}
		addr = "http://unix"
	case strings.HasPrefix(addr, "https://"):
		return nil, fmt.Errorf("HTTPS is not supported yet: %s", addr)
	case !strings.HasPrefix(addr, "http://"):
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid -http-addr %q", h.addr)
	}
	c.base = u
	return c, nil
}

// apiError is a non-2xx answer.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s)", e.status, strings.TrimSpace(e.body))
}

// do sends a request to path (with query q) and returns the response body
// for a 2xx status, an *apiError otherwise.
func (c *client) do(method, path string, q url.Values, body io.Reader) ([]byte, http.Header, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	if q == nil {
		q = url.Values{}
	}
	if c.dc != "" {
		q.Set("dc", c.dc)
	}
	if c.stale && method == http.MethodGet {
		q.Set("stale", "")
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, nil, err
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.Header, &apiError{status: resp.StatusCode, body: string(b)}
	}
	return b, resp.Header, nil
}

// getJSON decodes a GET's JSON answer into out.
func (c *client) getJSON(path string, q url.Values, out any) error {
	b, _, err := c.do(http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// isNotFound reports a 404 answer.
func isNotFound(err error) bool {
	ae, ok := err.(*apiError)
	return ok && ae.status == http.StatusNotFound
}

// keyPath is a KV key's URL path (do escapes it).
func keyPath(key string) string {
	return "/v1/kv/" + strings.TrimPrefix(key, "/")
}

// stream copies a GET's answer body to out as it arrives (a non-2xx
// answer is an *apiError).
func (c *client) stream(path string, q url.Values, out io.Writer) error {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	hc := *c.hc
	hc.Timeout = 0 // a stream has no end to wait for
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return &apiError{status: resp.StatusCode, body: string(b)}
	}
	_, err = io.Copy(out, resp.Body)
	return err
}
