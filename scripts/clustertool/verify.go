package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// cmdWaitStat polls /v1/agent/self until Stats.raft[-stat] >= -min.
func cmdWaitStat(args []string) error {
	fs := flag.NewFlagSet("wait-stat", flag.ExitOnError)
	addr := fs.String("http", "", "the server's HTTP address")
	stat := fs.String("stat", "snapshots_installed", "a Stats.raft counter")
	min := fs.Uint64("min", 1, "the value to wait for")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait")
	fs.Parse(args)
	deadline := time.Now().Add(*timeout)
	last := "?"
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, _, err := raftStats(ctx, *addr)
		cancel()
		if err == nil {
			last = r[*stat]
			if n, err := strconv.ParseUint(last, 10, 64); err == nil && n >= *min {
				fmt.Printf("%s=%d\n", *stat, n)
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	return fmt.Errorf("%s on %s is %s after %v, want >= %d", *stat, *addr, last, *timeout, *min)
}

// cmdVerify waits until GET /v1/kv/?recurse&stale is byte-identical on
// every server, then checks that every acknowledged key is in it.
func cmdVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	httpList := fs.String("http", "", "servers' HTTP addresses, comma-separated")
	ackedPath := fs.String("acked", "", "file of acknowledged keys, one a line")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the servers may take to converge")
	fs.Parse(args)
	c, err := parseCluster(*httpList, "")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	var hashes []string
	var body []byte
	for {
		hashes, body, err = c.kvHashes()
		if err == nil && allEqual(hashes) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("servers did not converge in %v: hashes %v, last error %v", *timeout, hashes, err)
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	var pairs []struct{ Key string }
	if err := json.Unmarshal(body, &pairs); err != nil {
		return fmt.Errorf("decode kv listing: %w", err)
	}
	have := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		have[p.Key] = true
	}
	f, err := os.Open(*ackedPath)
	if err != nil {
		return err
	}
	defer f.Close()
	acked, missing := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		acked++
		if !have[sc.Text()] {
			if missing < 5 {
				fmt.Fprintf(os.Stderr, "missing acknowledged key %q\n", sc.Text())
			}
			missing++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Printf("hash=%s keys=%d acked=%d missing=%d\n", hashes[0][:12], len(pairs), acked, missing)
	if missing > 0 || acked == 0 {
		return fmt.Errorf("%d of %d acknowledged keys missing", missing, acked)
	}
	return nil
}

// kvHashes returns each server's SHA-256 of the full stale KV listing and
// the first server's body.
func (c cluster) kvHashes() ([]string, []byte, error) {
	var hashes []string
	var first []byte
	for _, addr := range c.http {
		resp, err := client.Get("http://" + addr + "/v1/kv/?recurse&stale")
		if err != nil {
			return hashes, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return hashes, nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return hashes, nil, fmt.Errorf("%s: status %d", addr, resp.StatusCode)
		}
		sum := sha256.Sum256(b)
		hashes = append(hashes, hex.EncodeToString(sum[:]))
		if first == nil {
			first = b
		}
	}
	return hashes, first, nil
}

func allEqual(s []string) bool {
	for _, x := range s {
		if x != s[0] {
			return false
		}
	}
	return len(s) > 0
}
