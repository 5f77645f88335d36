package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/agentd/agentd/agent"
	"github.com/agentd/agentd/agent/config"
)

// Consul's agent prints a banner on stdout and then "==> Consul agent
// running!" once it serves; harnesses that start Consul wait for that
// line, so agentd prints the same lines (its logs go to stderr).

// printBanner prints Consul's start banner for cfg.
func printBanner(w io.Writer, cfg config.Config) {
	fmt.Fprintln(w, "==> Starting Consul agent...")
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%22s: %s\n", label, fmt.Sprintf(format, args...))
	}
	line("Version", "'%s'", agent.Version)
	if cfg.NodeID != "" {
		line("Node ID", "'%s'", cfg.NodeID)
	}
	line("Node name", "'%s'", cfg.NodeName)
	segment := ""
	if cfg.Server {
		segment = "<all>"
	}
	line("Datacenter", "'%s' (Segment: '%s')", cfg.Datacenter, segment)
	line("Server", "%v (Bootstrap: %v)", cfg.Server, cfg.Bootstrap)
	line("Client Addr", "[%s] (HTTP: %d, HTTPS: %d, gRPC: %d, gRPC-TLS: %d, DNS: %d)", cfg.ClientAddr,
		cfg.Ports.HTTP, cfg.Ports.HTTPS, cfg.Ports.GRPC, cfg.Compat.GRPCTLSPort, cfg.Ports.DNS)
	line("Cluster Addr", "%s (LAN: %d, WAN: %d)", cfg.BindAddr, cfg.Ports.SerfLAN, cfg.Ports.SerfWAN)
	line("Gossip Encryption", "%v", cfg.Encrypt != "")
	line("ACL Enabled", "false")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==> Log data will now stream in as it occurs:")
	fmt.Fprintln(w)
}

// runningLine prints "==> Consul agent running!" once: when the HTTP API
// accepts connections (a server waiting for bootstrap_expect peers
// already serves it, as Consul's does) or when the agent has started,
// whichever comes first.
type runningLine struct {
	once sync.Once
	w    io.Writer
}

func (r *runningLine) print() {
	r.once.Do(func() { fmt.Fprintln(r.w, "==> Consul agent running!") })
}

// watchHTTP polls the configured HTTP address until it answers or stop
// closes; a port of 0 (chosen at listen) or -1 (off) is not watched.
func (r *runningLine) watchHTTP(cfg config.Config, stop <-chan struct{}) {
	if cfg.Ports.HTTP <= 0 {
		return
	}
	host := cfg.ClientAddr
	if cfg.Addresses.HTTP != "" {
		host = cfg.Addresses.HTTP
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(cfg.Ports.HTTP))
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				r.print()
				return
			}
		}
	}()
}
