package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// cmdSessions checks session TTL expiry (issue 4 acceptance item 4):
// phase 1, n sessions with TTL ttl all expire between ttl and 2×ttl+1 s
// after their creation; phase 2, n more are created, the leader is killed
// (SIGKILL by PID), and each expires no earlier than ttl after creation
// and within failover+2×ttl+1 s of the kill.
func cmdSessions(args []string) error {
	fs := flag.NewFlagSet("sessions", flag.ExitOnError)
	httpList := fs.String("http", "", "servers' HTTP addresses, comma-separated")
	pidList := fs.String("pids", "", "servers' PIDs, in the same order")
	n := fs.Int("n", 20, "sessions per phase")
	ttl := fs.Duration("ttl", 10*time.Second, "session TTL")
	fs.Parse(args)
	c, err := parseCluster(*httpList, *pidList)
	if err != nil {
		return err
	}
	slack := time.Second // Raft commit of the expiry plus the polling interval
	lead, err := c.findLeader(10*time.Second, nil)
	if err != nil {
		return err
	}

	// Phase 1: no failure.
	created, err := createSessions(c.http[lead], *n, *ttl, "p1")
	if err != nil {
		return err
	}
	gone, err := waitGone(c.http[lead], created, 2**ttl+30*time.Second)
	if err != nil {
		return err
	}
	lo, hi := spread(created, gone)
	fmt.Printf("phase1: %d sessions TTL %v expired %.1f-%.1f s after creation (want %v-%v)\n",
		*n, *ttl, lo.Seconds(), hi.Seconds(), *ttl, 2**ttl+slack)
	if lo < *ttl || hi > 2**ttl+slack {
		return fmt.Errorf("phase1: expiry outside [%v, %v]", *ttl, 2**ttl+slack)
	}

	// Phase 2: the leader dies 2 s after the sessions were created.
	created, err = createSessions(c.http[lead], *n, *ttl, "p2")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the sessions age on the old leader's timers
	killed := time.Now()
	if err := syscall.Kill(c.pids[lead], syscall.SIGKILL); err != nil {
		return err
	}
	survivor := c.http[(lead+1)%len(c.http)]
	failover, err := waitWrite(survivor, killed, 30*time.Second)
	if err != nil {
		return err
	}
	gone, err = waitGone(survivor, created, failover+2**ttl+30*time.Second)
	if err != nil {
		return err
	}
	lo, _ = spread(created, gone)
	var afterKill time.Duration
	for _, g := range gone {
		afterKill = max(afterKill, g.Sub(killed))
	}
	bound := failover + 2**ttl + slack
	fmt.Printf("phase2: leader s%d killed; failover %d ms; %d sessions expired %.1f s after creation at the earliest, %.1f s after the kill at the latest (want >= %v and <= failover+%v = %.1f s)\n",
		lead, failover.Milliseconds(), *n, lo.Seconds(), afterKill.Seconds(), *ttl, 2**ttl+slack, bound.Seconds())
	if lo < *ttl || afterKill > bound {
		return fmt.Errorf("phase2: expiry outside bounds")
	}
	return nil
}

// createSessions creates n TTL sessions with no health checks (so only
// the TTL can end them) and returns each ID with the time its create
// request was sent (no later than the start of its TTL).
func createSessions(addr string, n int, ttl time.Duration, name string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, n)
	for i := range n {
		body := fmt.Sprintf(`{"Name":"%s-%d","TTL":"%s","NodeChecks":[],"Behavior":"delete"}`, name, i, ttl)
		start := time.Now()
		req, err := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/session/create", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var r struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || r.ID == "" {
			return nil, fmt.Errorf("session create: status %d, %v", resp.StatusCode, err)
		}
		out[r.ID] = start
	}
	return out, nil
}

// waitGone polls the session list until every created session is gone
// and returns when each was first seen missing.
func waitGone(addr string, created map[string]time.Time, timeout time.Duration) (map[string]time.Time, error) {
	gone := map[string]time.Time{}
	deadline := time.Now().Add(timeout)
	for len(gone) < len(created) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d sessions still alive after %v", len(created)-len(gone), len(created), timeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var list []struct{ ID string }
		err := getJSON(ctx, "http://"+addr+"/v1/session/list", &list)
		cancel()
		now := time.Now()
		if err == nil {
			alive := map[string]bool{}
			for _, s := range list {
				alive[s.ID] = true
			}
			for id := range created {
				if _, seen := gone[id]; !seen && !alive[id] {
					gone[id] = now
				}
			}
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	return gone, nil
}

// spread returns the shortest and longest creation-to-expiry times.
func spread(created, gone map[string]time.Time) (lo, hi time.Duration) {
	lo = time.Duration(1 << 62)
	for id, c := range created {
		d := gone[id].Sub(c)
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// waitWrite retries a KV write at addr until one sent after since
// succeeds and returns the time from since to that success.
func waitWrite(addr string, since time.Time, timeout time.Duration) (time.Duration, error) {
	w := &writer{}
	for time.Since(since) < timeout {
		if w.put(context.Background(), addr, "sessions-failover-probe") {
			return time.Since(since), nil
		}
		time.Sleep(20 * time.Millisecond) // retry interval
	}
	return 0, fmt.Errorf("no write succeeded within %v of the kill", timeout)
}
