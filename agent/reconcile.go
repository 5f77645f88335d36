package agent

import (
	"context"
	"errors"
	"maps"
	"net"
	"strings"
	"time"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/store"
	"github.com/agentd/agentd/swim"
)

// reconcileInterval is how often the leader re-reads the whole member list
// even without gossip events (Consul: reconcile_interval 60s; gossip
// events trigger it sooner).
const reconcileInterval = 5 * time.Second

// reconcileMembers keeps the catalog in step with gossip while this server
// leads: every member is a node with a serfHealth check, passing while
// alive and critical when failed (which invalidates sessions tied to it);
// a member that left is deregistered; a server that left is removed from
// the Raft configuration.
func (a *Agent) reconcileMembers(ctx context.Context) {
	tick := time.NewTicker(reconcileInterval)
	defer tick.Stop()
	for {
		a.reconcileOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.cluster.events:
		}
	}
}

func (a *Agent) reconcileOnce(ctx context.Context) {
	members := a.cluster.gossip.Members()
	a.addNewServers(ctx, members)
	for _, m := range members {
		if ctx.Err() != nil {
			return
		}
		if m.Tags["dc"] != "" && m.Tags["dc"] != a.cfg.Datacenter {
			continue
		}
		switch m.Status {
		case swim.StatusAlive, swim.StatusFailed:
			a.reconcileMember(ctx, m)
		case swim.StatusLeft:
			a.removeLeftMember(ctx, m)
		}
	}
}

// reconcileMember registers m with its serfHealth status unless the
// catalog already says so.
func (a *Agent) reconcileMember(ctx context.Context, m swim.Member) {
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return
	}
	status, output := store.HealthPassing, "Agent alive and reachable"
	if m.Status == swim.StatusFailed {
		status, output = store.HealthCritical, "Agent not live or unreachable"
	}
	version, _, _ := strings.Cut(m.Tags["build"], ":")
	node := a.catalogNode(m.Tags["id"], m.Name, host, version)
	if a.catalogHas(node, status) {
		return
	}
	reg := &store.Register{
		Node: node,
		Checks: []store.Check{{
			Node: m.Name, CheckID: store.SerfCheckID, Name: store.SerfCheckName,
			Status: status, Output: output,
		}},
	}
	if res, err := a.apply(ctx, reg); err != nil || res.Err != nil {
		a.log.Warn("catalog: register member failed", "member", m.Name, "error", err)
	}
}

// catalogNode is a server's catalog node as Consul's agent registers
// itself: TaggedAddresses lan/wan with their _ipv4 (or _ipv6) twins, and
// Meta with the network segment ("" in CE) and the agent's version.
func (a *Agent) catalogNode(id, name, ip, version string) store.Node {
	family := "_ipv4"
	if p := net.ParseIP(ip); p != nil && p.To4() == nil {
		family = "_ipv6"
	}
	meta := map[string]string{"consul-network-segment": "", "consul-version": version}
	if name == a.cfg.NodeName {
		// This agent's node_meta (-node-meta); another server's is not
		// known here (gossip does not carry it).
		maps.Copy(meta, a.cfg.NodeMeta)
	}
	return store.Node{
		ID: id, Node: name, Address: ip, Datacenter: a.cfg.Datacenter,
		TaggedAddresses: map[string]string{"lan": ip, "lan" + family: ip, "wan": ip, "wan" + family: ip},
		Meta:            meta,
	}
}

// catalogHas reports whether the catalog already holds want (same ID,
// address, tagged addresses and meta) with a serfHealth check of status.
func (a *Agent) catalogHas(want store.Node, status store.HealthStatus) bool {
	_, n := a.store.Node(nil, want.Node)
	if n == nil || n.ID != want.ID || n.Address != want.Address ||
		!maps.Equal(n.TaggedAddresses, want.TaggedAddresses) || !maps.Equal(n.Meta, want.Meta) {
		return false
	}
	_, checks := a.store.NodeChecks(nil, want.Node)
	for _, c := range checks {
		if c.CheckID == store.SerfCheckID && c.Status == status {
			return true
		}
	}
	return false
}

// removeLeftMember deregisters a member that left, and removes a server
// that left from the Raft configuration (never this server itself: a
// leaving leader removes itself through Leave).
func (a *Agent) removeLeftMember(ctx context.Context, m swim.Member) {
	if id := m.Tags["id"]; m.Tags["role"] == "consul" && id != "" && id != a.nodeID {
		st, err := a.srv.drv.Status(ctx)
		if err == nil {
			for _, s := range st.Configuration.Servers {
				if s.ID == raft.NodeID(id) {
					if err := a.srv.drv.RemoveServer(ctx, s.ID); err != nil {
						a.log.Warn("raft: removing a server that left failed", "member", m.Name, "error", err)
					} else {
						a.log.Info("raft: removed a server that left", "member", m.Name)
					}
				}
			}
		}
	}
	if _, n := a.store.Node(nil, m.Name); n == nil {
		return
	}
	if res, err := a.apply(ctx, &store.Deregister{Node: m.Name}); err != nil || res.Err != nil {
		a.log.Warn("catalog: deregister member failed", "member", m.Name, "error", err)
	}
}

// addNewServers adds alive servers of this datacenter that are missing
// from the Raft configuration as non-voters; the core promotes them once
// caught up (AutoPromote).
func (a *Agent) addNewServers(ctx context.Context, members []swim.Member) {
	st, err := a.srv.drv.Status(ctx)
	if err != nil {
		return
	}
	in := map[raft.NodeID]bool{}
	for _, s := range st.Configuration.Servers {
		in[s.ID] = true
	}
	for _, m := range members {
		id := raft.NodeID(m.Tags["id"])
		if m.Status != swim.StatusAlive || m.Tags["role"] != "consul" || m.Tags["dc"] != a.cfg.Datacenter || id == raft.None || in[id] {
			continue
		}
		host, _, err := net.SplitHostPort(m.Addr)
		if err != nil || m.Tags["port"] == "" {
			continue
		}
		addr := net.JoinHostPort(host, m.Tags["port"])
		if err := a.srv.drv.AddNonvoter(ctx, id, addr); err != nil {
			if isReusedID(err) {
				// Not transient: skip it so it does not block others.
				if a.cluster.warnRemovedOnce(id) {
					a.log.Warn("raft: a server that was removed from the configuration (dead-server cleanup or a leave) is back under the same node ID, "+
						"which Raft never reuses; a restarting server rejoins under a new ID by itself (one with node_id in its configuration needs a new node_id)",
						"member", m.Name, "id", id)
				}
				continue
			}
			a.log.Warn("raft: adding a new server failed", "member", m.Name, "error", err)
			return // one configuration change at a time
		}
		a.log.Info("raft: added a new server", "member", m.Name, "addr", addr)
	}
}

// isReusedID reports the core's refusal to add back a removed server ID
// (raft/confchange.go; the core has no sentinel error for it).
func isReusedID(err error) bool {
	return errors.Is(err, raft.ErrInvalidConfChange) && strings.Contains(err.Error(), "never reused")
}

// warnRemovedOnce reports whether id's "removed server is back" warning
// is due: once per ID per process.
func (c *cluster) warnRemovedOnce(id raft.NodeID) bool {
	c.warnMu.Lock()
	defer c.warnMu.Unlock()
	if c.warned == nil {
		c.warned = map[raft.NodeID]bool{}
	}
	if c.warned[id] {
		return false
	}
	c.warned[id] = true
	return true
}
