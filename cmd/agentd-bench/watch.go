package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// watcher is one blocking GET loop on one key over its own connection.
type watcher struct {
	c     *rawConn
	key   string
	path  string // /v1/kv/<key>
	index uint64
}

// armWatchers opens one connection per watcher and learns each key's
// index with a plain GET, at most 256 dials at a time.
func armWatchers(ctx context.Context, addr string, keys []string, n int, kernelStamps bool) ([]*watcher, error) {
	ws := make([]*watcher, n)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := range ws {
		ws[i] = &watcher{key: keys[i%len(keys)], path: "/v1/kv/" + keys[i%len(keys)]}
		wg.Add(1)
		sem <- struct{}{}
		go func(w *watcher) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialRaw(ctx, addr, kernelStamps)
			if err == nil {
				w.c = c
				var code int
				code, w.index, err = c.get(w.path)
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("GET %s: status %d", w.key, code)
				}
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}(ws[i])
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		closeWatchers(ws)
		return nil, fmt.Errorf("arming watchers: %w", err)
	}
	return ws, nil
}

func closeWatchers(ws []*watcher) {
	for _, w := range ws {
		if w.c != nil {
			w.c.close()
		}
	}
}

// interruptWatchers makes every watcher's blocked GET return (their loops
// then see the cancelled context).
func interruptWatchers(ws []*watcher) {
	for _, w := range ws {
		if w.c != nil {
			w.c.interrupt()
		}
	}
}

// agentStore reads the store counters from /v1/agent/self.
func agentStore(ctx context.Context, c *conn) (map[string]uint64, error) {
	code, b, err := c.do(ctx, http.MethodGet, "/v1/agent/self", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("agent/self: status %d", code)
	}
	var self struct {
		Stats map[string]map[string]string
	}
	if err := json.Unmarshal(b, &self); err != nil {
		return nil, fmt.Errorf("agent/self: %w", err)
	}
	out := map[string]uint64{}
	for k, v := range self.Stats["store"] {
		n, _ := strconv.ParseUint(v, 10, 64)
		out[k] = n
	}
	out["goroutines"], _ = strconv.ParseUint(self.Stats["runtime"]["goroutines"], 10, 64)
	return out, nil
}

// waitParked polls until the store has handed out want more watches than
// base: every watcher's blocking GET is registered (and parked, or about
// to be). Polling, not sleeping: it returns as soon as the counter says so.
func waitParked(ctx context.Context, c *conn, base, want uint64, limit time.Duration) (uint64, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := agentStore(ctx, c)
		if err != nil {
			return 0, err
		}
		if st["watches_added"] >= base+want {
			return st["watches_added"], nil
		}
		if time.Now().After(deadline) {
			return st["watches_added"], fmt.Errorf("only %d of %d watches registered after %v", st["watches_added"]-base, want, limit)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a synchronisation
	}
}

// procCPU is pid's user+system CPU time from /proc/PID/stat (0 without).
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
