package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// conn is one client with exactly one keep-alive connection to one agent:
// its own Transport, so connections are never shared or pooled across
// clients (the load shape etcd's clients are given too).
type conn struct {
	base string
	hc   *http.Client
}

func newConn(addr string) *conn {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	return &conn{base: "http://" + addr, hc: &http.Client{Transport: tr}}
}

func (c *conn) close() { c.hc.CloseIdleConnections() }

// do sends one request and drains the body (keep-alive needs it). It
// returns the status and body; bodies here are small.
func (c *conn) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b, err
}

// put writes a key and checks Consul's "true" answer.
func (c *conn) put(ctx context.Context, key string, v []byte) error {
	code, b, err := c.do(ctx, http.MethodPut, "/v1/kv/"+key, v)
	if err != nil {
		return err
	}
	if code != http.StatusOK || !bytes.Equal(bytes.TrimSpace(b), []byte("true")) {
		return fmt.Errorf("PUT %s: %d %q", key, code, b)
	}
	return nil
}
