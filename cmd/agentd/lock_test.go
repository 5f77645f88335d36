package main

import (
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// TestCLILock: a lock held around a child (which sees CONSUL_LOCK_HELD)
// and cleaned up after; a second contender with -timeout gives up while
// it is held; -n 2 admits two holders and turns a third away; a lost hold
// (its session destroyed) terminates the child.
func TestCLILock(t *testing.T) {
	addr := startAgent(t)
	lock := func(args ...string) (int, string, string) {
		return runCmd(t, "", append([]string{"lock", "-http-addr", addr}, args...)...)
	}
	code, out, errOut := lock("app", `echo "held=$CONSUL_LOCK_HELD"`)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "held=true\n", out)
	require.Equal(t, http.StatusNotFound, httpGet(t, addr, "/v1/kv/app/.lock"), "cleaned up")

	// Contention: the holder waits for a file the test creates.
	dir := t.TempDir()
	gate := dir + "/go"
	var wg sync.WaitGroup
	wg.Add(1)
	var holderCode int
	go func() {
		defer wg.Done()
		holderCode, _, _ = lock("app", "while [ ! -e "+gate+" ]; do sleep 0.02; done")
	}()
	waitUntil(t, func() bool { return httpGet(t, addr, "/v1/kv/app/.lock") == http.StatusOK }, "the holder's lock")
	code, _, errOut = lock("-timeout", "300ms", "app", "true")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "timeout during lock acquisition")
	require.NoError(t, writeFile(gate))
	wg.Wait()
	require.Equal(t, 0, holderCode)

	// A semaphore of two.
	gate2 := dir + "/go2"
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, e := lock("-n", "2", "sem", "while [ ! -e "+gate2+" ]; do sleep 0.02; done")
			require.Equal(t, 0, c, e)
		}()
	}
	waitUntil(t, func() bool { return semHolders(t, addr, "sem") == 2 }, "two holders")
	code, _, errOut = lock("-n", "2", "-timeout", "300ms", "sem", "true")
	require.Equal(t, 1, code, errOut)
	require.NoError(t, writeFile(gate2))
	wg.Wait()

	// A lost hold terminates the child.
	done := make(chan int, 1)
	go func() {
		c, _, _ := lock("lost", "sleep 30")
		done <- c
	}()
	var sessions []struct{ ID string }
	waitUntil(t, func() bool {
		if httpGet(t, addr, "/v1/kv/lost/.lock") != http.StatusOK {
			return false
		}
		resp, err := http.Get("http://" + addr + "/v1/session/list")
		require.NoError(t, err)
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&sessions) == nil && len(sessions) > 0
	}, "the lost test's lock")
	for _, s := range sessions {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/session/destroy/"+s.ID, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	select {
	case c := <-done:
		require.Equal(t, 0, c)
	case <-time.After(lockKillGrace + 5*time.Second):
		t.Fatal("the child kept running after its lock was lost")
	}

	for _, bad := range [][]string{{"app"}, {"-n", "0", "app", "true"}, {"-timeout", "-1s", "app", "true"}} {
		code, _, _ := lock(bad...)
		require.Equal(t, 1, code, bad)
	}
}

func httpGet(t *testing.T, addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// semHolders is the number of holders in prefix/.lock.
func semHolders(t *testing.T, addr, prefix string) int {
	resp, err := http.Get("http://" + addr + "/v1/kv/" + prefix + "/.lock?raw")
	require.NoError(t, err)
	defer resp.Body.Close()
	var l struct{ Holders map[string]bool }
	if json.NewDecoder(resp.Body).Decode(&l) != nil {
		return 0
	}
	return len(l.Holders)
}

// waitUntil polls cond with a deadline (not a synchronisation sleep).
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(p string) error { return os.WriteFile(p, []byte("x"), 0o644) }

// TestCLILockInterop: `agentd lock` and the official client's api.Lock
// and api.Semaphore exclude each other on the same prefix.
func TestCLILockInterop(t *testing.T) {
	addr := startAgent(t)
	c, err := api.NewClient(&api.Config{Address: addr})
	require.NoError(t, err)
	lock := func(args ...string) (int, string) {
		code, _, errOut := runCmd(t, "", append([]string{"lock", "-http-addr", addr}, args...)...)
		return code, errOut
	}

	l, err := c.LockKey("interop/.lock")
	require.NoError(t, err)
	_, err = l.Lock(nil)
	require.NoError(t, err)
	code, errOut := lock("-timeout", "300ms", "interop", "true")
	require.Equal(t, 1, code, "held by api.Lock: %s", errOut)
	require.NoError(t, l.Unlock())
	code, errOut = lock("-timeout", "5s", "interop", "true")
	require.Equal(t, 0, code, errOut)

	s, err := c.SemaphorePrefix("isem", 1)
	require.NoError(t, err)
	_, err = s.Acquire(nil)
	require.NoError(t, err)
	code, errOut = lock("-n", "1", "-timeout", "300ms", "isem", "true")
	require.Equal(t, 1, code, "-n 1 is a lock; the prefix holds a semaphore: %s", errOut)
	require.Contains(t, errOut, "does not match lock use")
	require.NoError(t, s.Release())
	s2, err := c.SemaphorePrefix("isem2", 2)
	require.NoError(t, err)
	_, err = s2.Acquire(nil)
	require.NoError(t, err)
	code, errOut = lock("-n", "2", "-timeout", "5s", "isem2", "true")
	require.Equal(t, 0, code, "one slot left beside api.Semaphore: %s", errOut)
	code, errOut = lock("-n", "3", "-timeout", "5s", "isem2", "true")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "semaphore limit conflict")
	require.NoError(t, s2.Release())
}
