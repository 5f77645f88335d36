// Command clustertool drives the acceptance scripts in scripts/: it finds
// free ports, puts write load on a cluster and kills its leader by PID,
// verifies that the servers converged, and times session expiry. The
// scripts start and stop the agentd processes; this tool only signals the
// PIDs it is given.
//
//	clustertool freeports N
//	clustertool write    -http A,B,C -pids P1,P2,P3 -acked FILE -status FILE [-down 2000]
//	clustertool wait-stat -http A -stat snapshots_installed -min 1
//	clustertool verify   -http A,B,C -acked FILE
//	clustertool leader   -http A,B,C   (prints the leader's index)
//	clustertool sessions -http A,B,C -pids P1,P2,P3 [-n 20 -ttl 10s]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: clustertool freeports|write|wait-stat|verify|sessions [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"freeports": cmdFreePorts,
		"write":     cmdWrite,
		"wait-stat": cmdWaitStat,
		"verify":    cmdVerify,
		"sessions":  cmdSessions,
		"leader":    cmdLeader,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "clustertool: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "clustertool %s: FAIL: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// cmdFreePorts prints n distinct loopback ports free for TCP and UDP.
func cmdFreePorts(args []string) error {
	if len(args) != 1 {
		return errors.New("want N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var ports []string
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // keep the TCP listener so the port is not offered again
		}
		held = append(held, u)
		ports = append(ports, strconv.Itoa(port))
	}
	fmt.Println(strings.Join(ports, " "))
	return nil
}

// cluster is the servers' HTTP addresses and, where given, their PIDs.
type cluster struct {
	http []string
	pids []int
}

func parseCluster(httpList, pidList string) (cluster, error) {
	c := cluster{http: strings.Split(httpList, ",")}
	if pidList == "" {
		return c, nil
	}
	for _, p := range strings.Split(pidList, ",") {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return c, fmt.Errorf("bad pid %q", p)
		}
		c.pids = append(c.pids, pid)
	}
	if len(c.pids) != len(c.http) {
		return c, fmt.Errorf("%d pids for %d servers", len(c.pids), len(c.http))
	}
	return c, nil
}

var client = &http.Client{
	Timeout:   3 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
}

// getJSON GETs url into out.
func getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// raftStats returns /v1/agent/self's Stats.raft and Stats.consul.
func raftStats(ctx context.Context, addr string) (raft, consul map[string]string, err error) {
	var self struct {
		Stats map[string]map[string]string
	}
	if err := getJSON(ctx, "http://"+addr+"/v1/agent/self", &self); err != nil {
		return nil, nil, err
	}
	return self.Stats["raft"], self.Stats["consul"], nil
}

// findLeader returns the index of the server that says it leads, polling
// up to timeout; skip marks servers not to ask.
func (c cluster) findLeader(timeout time.Duration, skip map[int]bool) (int, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, addr := range c.http {
			if skip[i] {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, consul, err := raftStats(ctx, addr)
			cancel()
			if err == nil && consul["leader"] == "true" {
				return i, nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	return -1, fmt.Errorf("no leader within %v", timeout)
}

// cmdLeader prints the index (0-based) of the server that leads.
func cmdLeader(args []string) error {
	fs := flag.NewFlagSet("leader", flag.ExitOnError)
	httpList := fs.String("http", "", "servers' HTTP addresses, comma-separated")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for a leader")
	fs.Parse(args)
	c, err := parseCluster(*httpList, "")
	if err != nil {
		return err
	}
	i, err := c.findLeader(*timeout, nil)
	if err != nil {
		return err
	}
	fmt.Println(i)
	return nil
}
