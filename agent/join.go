package agent

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/swim"
)

// A server started with neither bootstrap nor bootstrap_expect (Consul's
// `"server": true, "bootstrap": false`) joins the gossip pool and runs Raft
// with an empty log and configuration. It is no voter of any
// configuration, so it never campaigns and never bootstraps a cluster of
// its own; it waits for the leader of a running cluster to see it in
// gossip and add it (reconcile.go addNewServers: a non-voter, promoted
// once caught up). Until then requests that need a leader are held up to
// rpc_hold_timeout and answer 500 "No cluster leader".

// learnAddrInterval is how often a server waiting to be added re-reads the
// gossip pool for servers' Raft addresses (gossip events wake it sooner
// only for the leader's reconcile loop, which owns cluster.events).
const learnAddrInterval = 200 * time.Millisecond

// learnServerAddrs tells s's Raft driver the server RPC address of every
// server in the gossip pool until s's configuration names s: the leader's
// first AppendEntries (or snapshot) comes before any configuration that
// holds the leader's address, and s must be able to answer it. Once s is
// in a configuration, the configurations carry every address.
func (a *Agent) learnServerAddrs(c *cluster, s *server) {
	tick := time.NewTicker(learnAddrInterval)
	defer tick.Stop()
	for {
		for _, m := range c.gossip.Members() {
			if id, addr, ok := a.serverRaftAddr(m); ok && id != s.id {
				s.drv.LearnAddr(id, addr)
			}
		}
		if a.inConfiguration(s) {
			a.log.Info("added to the cluster's Raft configuration")
			return
		}
		select {
		case <-a.stopc:
			return
		case <-tick.C:
		}
	}
}

// serverRaftAddr returns a gossip member's Raft ID and server RPC address
// if it is an alive server of this datacenter.
func (a *Agent) serverRaftAddr(m swim.Member) (raft.NodeID, string, bool) {
	if m.Status != swim.StatusAlive || m.Tags["role"] != "consul" || m.Tags["dc"] != a.cfg.Datacenter ||
		m.Tags["id"] == "" || m.Tags["port"] == "" {
		return raft.None, "", false
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return raft.None, "", false
	}
	return raft.NodeID(m.Tags["id"]), net.JoinHostPort(host, m.Tags["port"]), true
}

// inConfiguration reports whether s's latest Raft configuration names s.
func (a *Agent) inConfiguration(s *server) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := s.drv.Status(ctx)
	if err != nil {
		return false
	}
	for _, sv := range st.Configuration.Servers {
		if sv.ID == s.id {
			return true
		}
	}
	return false
}

// maybeCampaignAlone starts an election at once when s is the only voter
// of its configuration (a -bootstrap server, new or restarted alone, or a
// bootstrap_expect 1 server): nobody else can win, so waiting an election
// timeout only delays the first leader. With other voters it does nothing:
// a restarted member must not raise the term of a working cluster.
func (a *Agent) maybeCampaignAlone(s *server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.drv.Status(ctx)
	if err != nil {
		return
	}
	voters := 0
	self := false
	for _, sv := range st.Configuration.Servers {
		if sv.Suffrage == raft.Voter {
			voters++
			self = self || sv.ID == s.id
		}
	}
	if voters != 1 || !self {
		return
	}
	if err := s.drv.Campaign(ctx); err != nil {
		a.log.Warn("campaign failed; waiting for the election timeout", "error", err)
	}
}

// withDefaultPort returns addr with port appended when addr names no
// port: a join address ("10.0.0.1", "[::1]", "node.example") defaults to
// this agent's own gossip port, as memberlist's join does.
func withDefaultPort(addr, port string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), port)
}
