package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func echoServer(t *testing.T) *TCP {
	s := listen(t, testTCPConfig(t))
	s.SetRPCHandler(func(method string, req []byte) ([]byte, error) {
		switch method {
		case "echo":
			return append([]byte("echo:"), req...), nil
		case "fail":
			return nil, fmt.Errorf("no leader for %s", req)
		}
		return nil, fmt.Errorf("unknown method %q", method)
	})
	return s
}

// TestRPCRoundTrip: concurrent calls multiplex one connection and each
// gets its own answer.
func TestRPCRoundTrip(t *testing.T) {
	s, c := echoServer(t), listen(t, testTCPConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fmt.Sprintf("req-%d-%s", i, strings.Repeat("x", i*100))
			got, err := c.Call(ctx, s.Addr(), "echo", []byte(req))
			if err == nil && string(got) != "echo:"+req {
				err = fmt.Errorf("call %d answered %.40q", i, got)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, uint64(1), c.Stats().Dials, "one reused connection")
	// RPCServed counts an answer once its write returned, which may be just
	// after the client read it: poll rather than race the server goroutines.
	poll(t, 5*time.Second, func() bool { return s.Stats().RPCServed == 200 },
		func() string { return fmt.Sprintf("RPCServed = %d, want 200", s.Stats().RPCServed) })

	_, err := c.Call(ctx, s.Addr(), "fail", []byte("kv"))
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "fail", re.Method)
	require.Equal(t, "no leader for kv", re.Message)
	require.False(t, errors.Is(err, ErrNotSent))
}

// TestRPCTimeout: ctx bounds the call; the late answer is discarded and
// the connection stays usable.
func TestRPCTimeout(t *testing.T) {
	s, c := listen(t, testTCPConfig(t)), listen(t, testTCPConfig(t))
	release := make(chan struct{})
	s.SetRPCHandler(func(method string, req []byte) ([]byte, error) {
		if method == "slow" {
			<-release
		}
		return req, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, s.Addr(), "slow", []byte("a"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, errors.Is(err, ErrNotSent), "the request was sent: outcome unknown")
	close(release)
	poll(t, 5*time.Second, func() bool { return s.Stats().RPCServed == 1 }, func() string { return "slow call never answered" })

	got, err := c.Call(context.Background(), s.Addr(), "fast", []byte("b"))
	require.NoError(t, err)
	require.Equal(t, "b", string(got))
	require.Equal(t, uint64(1), c.Stats().Dials)
}

// TestRPCErrors: a dead peer and oversized or misnamed requests fail with
// ErrNotSent; a server that goes away mid-call gives ErrConnLost; a server
// without a handler answers with a RemoteError.
func TestRPCErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := listen(t, testTCPConfig(t))

	t.Run("dead peer", func(t *testing.T) {
		_, err := c.Call(ctx, deadAddr(t), "echo", nil)
		require.ErrorIs(t, err, ErrNotSent)
	})
	t.Run("bad method", func(t *testing.T) {
		_, err := c.Call(ctx, deadAddr(t), "", nil)
		require.ErrorIs(t, err, ErrNotSent)
		_, err = c.Call(ctx, deadAddr(t), strings.Repeat("m", 256), nil)
		require.ErrorIs(t, err, ErrNotSent)
	})
	t.Run("request over cap", func(t *testing.T) {
		s := echoServer(t)
		_, err := c.Call(ctx, s.Addr(), "echo", make([]byte, testTCPConfig(t).MaxRPCBytes))
		require.ErrorIs(t, err, ErrNotSent)
	})
	t.Run("response over cap", func(t *testing.T) {
		cfg := testTCPConfig(t)
		cfg.MaxRPCBytes = 1 << 10
		s := listen(t, cfg)
		s.SetRPCHandler(func(string, []byte) ([]byte, error) { return make([]byte, 2<<10), nil })
		_, err := c.Call(ctx, s.Addr(), "big", nil)
		var re *RemoteError
		require.ErrorAs(t, err, &re)
		require.Contains(t, re.Message, "cap")
	})
	t.Run("no handler", func(t *testing.T) {
		s := listen(t, testTCPConfig(t))
		_, err := c.Call(ctx, s.Addr(), "echo", nil)
		var re *RemoteError
		require.ErrorAs(t, err, &re)
	})
	t.Run("server closes mid-call", func(t *testing.T) {
		s := listen(t, testTCPConfig(t))
		entered, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		s.SetRPCHandler(func(string, []byte) ([]byte, error) {
			close(entered)
			<-release
			return nil, nil
		})
		errc := make(chan error, 1)
		go func() {
			_, err := c.Call(ctx, s.Addr(), "hang", nil)
			errc <- err
		}()
		<-entered
		require.NoError(t, s.Close())
		err := <-errc
		require.ErrorIs(t, err, ErrConnLost)
	})
	t.Run("client closed", func(t *testing.T) {
		c2 := listen(t, testTCPConfig(t))
		s := echoServer(t)
		require.NoError(t, c2.Close())
		_, err := c2.Call(ctx, s.Addr(), "echo", nil)
		require.ErrorIs(t, err, ErrNotSent)
	})
}

// TestRPCIdleRetire: a pooled connection idle for half the server's
// IdleTimeout (on the client's clock) is replaced before use.
func TestRPCIdleRetire(t *testing.T) {
	clk := newManualClock()
	cfg := testTCPConfig(t)
	cfg.Clock = clk
	s, c := echoServer(t), listen(t, cfg)
	ctx := context.Background()
	_, err := c.Call(ctx, s.Addr(), "echo", nil)
	require.NoError(t, err)
	clk.Advance(cfg.IdleTimeout/2 - time.Second)
	_, err = c.Call(ctx, s.Addr(), "echo", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), c.Stats().Dials)
	clk.Advance(cfg.IdleTimeout / 2)
	_, err = c.Call(ctx, s.Addr(), "echo", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), c.Stats().Dials, "idle connection retired")
}

// TestRPCServerIdleTimeout: the server closes a silent connection, but not
// while a call is running on it.
func TestRPCServerIdleTimeout(t *testing.T) {
	cfg := testTCPConfig(t)
	cfg.IdleTimeout = 100 * time.Millisecond
	s := listen(t, cfg)
	release := make(chan struct{})
	s.SetRPCHandler(func(method string, req []byte) ([]byte, error) {
		if method == "slow" {
			<-release
		}
		return []byte("done"), nil
	})
	c := listen(t, testTCPConfig(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), s.Addr(), "slow", nil)
		errc <- err
	}()
	poll(t, 5*time.Second, func() bool { return c.Stats().RPCCalls == 1 }, func() string { return "call not started" })
	// Several idle timeouts pass while the handler runs (wall time is the
	// only way to let a socket deadline expire).
	timer := time.NewTimer(4 * cfg.IdleTimeout)
	<-timer.C
	close(release)
	require.NoError(t, <-errc, "a running call keeps the connection open")

	// Now idle: the server closes it, and the client sees that.
	c.mu.Lock()
	rc := c.rpcs[s.Addr()].conn
	c.mu.Unlock()
	select {
	case <-rc.done:
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection not closed by the server")
	}
}
