package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client is a minimal Consul HTTP API client.
type client struct {
	base  *url.URL
	hc    *http.Client
	cc    clientConfig
	token string
	dc    string
	stale bool
}

// client resolves the flags (see httpFlags) into a client.
func (h *httpFlags) client() (*client, error) {
	cc, err := h.resolve()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	base := &url.URL{Scheme: cc.scheme, Host: cc.host, Path: cc.pathPrefix}
	switch {
	case cc.socket != "":
		sock := cc.socket
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		base = &url.URL{Scheme: "http", Host: "unix"}
	case cc.scheme == "https":
		if tr.TLSClientConfig, err = cc.tls.config(); err != nil {
			return nil, err
		}
	}
	return &client{
		base: base, hc: &http.Client{Timeout: 15 * time.Minute, Transport: tr}, cc: cc,
		token: cc.token, dc: cc.dc, stale: cc.stale,
	}, nil
}

// newRequest is a request to path with the token and basic auth set.
func (c *client) newRequest(method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	if c.cc.hasAuth {
		req.SetBasicAuth(c.cc.user, c.cc.password)
	}
	return req, nil
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
	if q == nil {
		q = url.Values{}
	}
	if c.dc != "" {
		q.Set("dc", c.dc)
	}
	if c.stale && method == http.MethodGet {
		q.Set("stale", "")
	}
	req, err := c.newRequest(method, path, q, body)
	if err != nil {
		return nil, nil, err
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
	req, err := c.newRequest(http.MethodGet, path, q, nil)
	if err != nil {
		return err
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
