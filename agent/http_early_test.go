package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentd/agentd/agent/config"
	"github.com/stretchr/testify/require"
)

// TestClusterExpectServesHTTPWhileWaiting: a bootstrap_expect server
// answers HTTP while it waits for the other servers, as Consul does
// (harnesses start each server and wait for its API before the next):
// status/leader is "" at once, a KV write made before the cluster exists
// waits for it (or answers Consul's "No cluster leader" after
// rpc_hold_timeout), and the cluster then forms and serves.
func TestClusterExpectServesHTTPWhileWaiting(t *testing.T) {
	t.Parallel()
	cfgs := []config.Config{diskServerConfig(t, "w1"), diskServerConfig(t, "w2"), diskServerConfig(t, "w3")}
	for i := range cfgs {
		cfgs[i].BootstrapExpect = 3
		cfgs[i].Ports.HTTP = freePort(t)
	}
	joinEachOther(cfgs)
	agents := make([]*Agent, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agents[i], errs[i] = New(cfgs[i], testLogger(t, cfgs[i].NodeName))
		}()
	}
	t.Cleanup(func() {
		if !waitGroupWithin(&wg, 20*time.Second) { // New waits for its peers without a deadline
			t.Log("agents still waiting for their peers at the end of the test")
			return
		}
		for _, a := range agents {
			if a != nil {
				a.Shutdown(context.Background())
			}
		}
	})
	start(0)
	base := fmt.Sprintf("http://127.0.0.1:%d", cfgs[0].Ports.HTTP)
	get := func(path string) (int, string, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	var code int
	var body string
	waitFor(t, 10*time.Second, func() bool {
		var err error
		code, body, err = get("/v1/status/leader")
		return err == nil
	}, "w1's HTTP API up before the cluster exists")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, `""`, body)
	code, body, err := get("/v1/status/peers")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, `[]`, body)

	// A write sent now waits for the server; the others start meanwhile.
	type answer struct {
		code int
		body string
		err  error
	}
	early := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, base+"/v1/kv/early", strings.NewReader("1"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			early <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		early <- answer{resp.StatusCode, string(b), err}
	}()
	start(1)
	start(2)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, cfgs[i].NodeName)
	}
	a := <-early
	require.NoError(t, a.err)
	t.Logf("the early write: %d %q", a.code, strings.TrimSpace(a.body))
	if a.code != http.StatusOK {
		// Formation outlasted rpc_hold_timeout on a loaded machine: the
		// answer must be Consul's.
		require.Equal(t, http.StatusInternalServerError, a.code, a.body)
		require.Contains(t, a.body, "No cluster leader")
	} else {
		require.Equal(t, "true", strings.TrimSpace(a.body))
	}
	waitFor(t, 15*time.Second, func() bool {
		code, body, err := get("/v1/status/leader")
		return err == nil && code == http.StatusOK && body != `""`
	}, "a leader")
}

// TestClusterExpectJoinedThroughAPI: servers started with bootstrap_expect
// and no retry_join are joined through PUT /v1/agent/join, as `agentd
// join` and Consul's sdk/testutil (JoinLAN) do. The agent's own endpoints
// (self, members, join) must answer while the servers wait for each other,
// not hold for the Raft server; a join address without a port takes this
// agent's gossip port.
func TestClusterExpectJoinedThroughAPI(t *testing.T) {
	t.Parallel()
	cfgs := []config.Config{diskServerConfig(t, "j1"), diskServerConfig(t, "j2")}
	port := freePort(t)
	for i := range cfgs {
		cfgs[i].BootstrapExpect = 2
		cfgs[i].Ports.HTTP = freePort(t)
		cfgs[i].Ports.SerfLAN = port // one port on two loopback addresses
		cfgs[i].BindAddr = fmt.Sprintf("127.0.0.%d", 21+i)
		cfgs[i].ClientAddr = cfgs[i].BindAddr
	}
	var wg sync.WaitGroup
	agents := make([]*Agent, len(cfgs))
	errs := make([]error, len(cfgs))
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agents[i], errs[i] = New(cfgs[i], testLogger(t, cfgs[i].NodeName))
		}()
	}
	t.Cleanup(func() {
		// New waits for its peers without a deadline: if the test failed
		// before the join, they never come. Do not hang the whole run on
		// that; the agents still starting are leaked.
		if !waitGroupWithin(&wg, 20*time.Second) {
			t.Log("agents still waiting for their peers at the end of the test")
			return
		}
		for _, a := range agents {
			if a != nil {
				a.Shutdown(context.Background())
			}
		}
	})
	base := fmt.Sprintf("http://%s:%d", cfgs[0].BindAddr, cfgs[0].Ports.HTTP)
	base2 := fmt.Sprintf("http://%s:%d", cfgs[1].BindAddr, cfgs[1].Ports.HTTP)
	doAt := func(base, method, path string) (int, string) {
		req, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	do := func(method, path string) (int, string) { return doAt(base, method, path) }
	waitFor(t, 10*time.Second, func() bool {
		code, _ := do(http.MethodGet, "/v1/status/leader")
		return code == http.StatusOK
	}, "j1's HTTP API up")
	// Well under rpc_hold_timeout (7 s): these must not wait for Raft.
	for _, path := range []string{"/v1/agent/self", "/v1/agent/members"} {
		start := time.Now()
		code, body := do(http.MethodGet, path)
		require.Equal(t, http.StatusOK, code, "%s: %s", path, body)
		require.Less(t, time.Since(start), rpcHoldTimeout-time.Second, "%s waited for the Raft server", path)
		if path == "/v1/agent/self" {
			require.Contains(t, body, `"NodeName":"j1"`)
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		code, _ := doAt(base2, http.MethodGet, "/v1/agent/members")
		return code == http.StatusOK
	}, "j2's gossip pool up")
	code, body := do(http.MethodPut, "/v1/agent/join/"+cfgs[1].BindAddr)
	require.Equal(t, http.StatusOK, code, body)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, cfgs[i].NodeName)
	}
	waitFor(t, 15*time.Second, func() bool {
		code, body := do(http.MethodGet, "/v1/status/peers")
		return code == http.StatusOK && strings.Count(body, ":") == 2
	}, "a two-server cluster")
}

// waitGroupWithin waits for wg up to d and reports whether it finished.
func waitGroupWithin(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestWithDefaultPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1:8301"},
		{"10.0.0.1:9301", "10.0.0.1:9301"},
		{"node.example", "node.example:8301"},
		{"::1", "[::1]:8301"},
		{"[::1]", "[::1]:8301"},
		{"[::1]:7301", "[::1]:7301"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, withDefaultPort(tt.in, "8301"), tt.in)
	}
}
