package agent

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/swim"
)

// buildDate is Config.BuildDate in /v1/agent/self (RFC 3339): Consul's
// value when its build sets none.
const buildDate = "1970-01-01T00:00:01Z"

// raftStatus returns the local Raft status.
func (a *Agent) raftStatus(ctx context.Context) (raft.Status, error) {
	return a.srv.drv.Status(ctx)
}

// statusLeader serves the leader's Raft address as a JSON string ("" when
// none is known).
func (a *Agent) statusLeader(w http.ResponseWriter, r *http.Request) error {
	st, err := a.raftStatus(r.Context())
	if err != nil {
		return err
	}
	addr := ""
	for _, s := range st.Configuration.Servers {
		if s.ID == st.SoftState.Lead {
			addr = s.Address
		}
	}
	return writeJSON(w, addr)
}

// statusPeers serves the Raft addresses of every server in the
// configuration, voter or not (Consul's Status.Peers).
func (a *Agent) statusPeers(w http.ResponseWriter, r *http.Request) error {
	st, err := a.raftStatus(r.Context())
	if err != nil {
		return err
	}
	peers := []string{}
	for _, s := range st.Configuration.Servers {
		peers = append(peers, s.Address)
	}
	return writeJSON(w, peers)
}

type raftServerJSON struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
	// LastIndex is the last log index the server is known to hold: its own
	// for this server, the leader's match index for a peer (0 when this
	// server does not lead).
	LastIndex uint64
}

// raftConfiguration serves the Raft configuration. Without ?stale it needs
// a leader, as Consul.
func (a *Agent) raftConfiguration(w http.ResponseWriter, r *http.Request) error {
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	if err := a.srv.readBarrier(r.Context(), o.consistency); err != nil {
		return err
	}
	st, err := a.raftStatus(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Servers []raftServerJSON
		Index   uint64
	}{Servers: []raftServerJSON{}, Index: uint64(st.Applied)}
	names := map[string]string{a.nodeID: a.cfg.NodeName}
	if a.cluster != nil {
		for _, m := range a.cluster.gossip.Members() {
			if id := m.Tags["id"]; id != "" {
				names[id] = m.Name
			}
		}
	}
	for _, s := range st.Configuration.Servers {
		node := "(unknown)" // Consul's name for a server gossip does not know
		if n, ok := names[string(s.ID)]; ok {
			node = n
		}
		last := uint64(st.Progress[s.ID].Match)
		if s.ID == st.ID {
			last = uint64(st.LastIndex)
		}
		out.Servers = append(out.Servers, raftServerJSON{
			ID: string(s.ID), Node: node, Address: s.Address, Leader: s.ID == st.SoftState.Lead,
			ProtocolVersion: "3", Voter: s.Suffrage == raft.Voter, LastIndex: last,
		})
	}
	return writeJSON(w, out)
}

// raftRemovePeer removes a server by ?id or ?address, with Consul's
// messages (an unknown server is its RPC's error: a 500).
func (a *Agent) raftRemovePeer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	id, addr := q.Get("id"), q.Get("address")
	hasID, hasAddr := present(q, "id"), present(q, "address")
	switch {
	case !hasID && !hasAddr:
		return errBadRequestf("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	case hasID && hasAddr:
		return errBadRequestf("Must specify only one of ?id or ?address")
	}
	st, err := a.raftStatus(r.Context())
	if err != nil {
		return err
	}
	var target raft.NodeID
	for _, s := range st.Configuration.Servers {
		if (hasID && string(s.ID) == id) || (hasAddr && s.Address == addr) {
			target = s.ID
		}
	}
	if target == raft.None {
		if hasID {
			return errStatus(http.StatusInternalServerError, "id %q was not found in the Raft configuration", id)
		}
		return errStatus(http.StatusInternalServerError, "address %q was not found in the Raft configuration", addr)
	}
	return a.removeServer(r.Context(), target)
}

// removeServer removes a server from the Raft configuration through the
// leader (here, or over the server RPC).
func (a *Agent) removeServer(ctx context.Context, id raft.NodeID) error {
	addr, lead, err := a.leaderRaftAddr(ctx)
	if err != nil {
		return err
	}
	if lead == a.srv.id {
		return a.srv.drv.RemoveServer(ctx, id)
	}
	if a.cluster == nil {
		return errNoLeader
	}
	_, err = a.cluster.tcp.Call(ctx, addr, rpcRemove, []byte(id))
	return err
}

// memberJSON is /v1/agent/members' entry (serf's member).
type memberJSON struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// selfMember is this agent as gossip would describe it, with Consul's
// server tags.
func (a *Agent) selfMember() memberJSON {
	tags := map[string]string{
		"dc": a.cfg.Datacenter, "id": a.nodeID, "vsn": "2", "vsn_min": "2", "vsn_max": "3",
		"build": Version + ":" + Revision, "segment": "",
	}
	if a.cfg.Server {
		tags["role"] = "consul"
		tags["acls"] = "0"
		tags["wan_join_port"] = strconv.Itoa(a.cfg.Ports.SerfWAN)
		tags["port"] = strconv.Itoa(a.cfg.Ports.Server)
		tags["raft_vsn"] = "3"
		if a.cfg.Bootstrap {
			tags["bootstrap"] = "1"
		}
		if a.cfg.BootstrapExpect > 0 {
			tags["expect"] = strconv.Itoa(a.cfg.BootstrapExpect)
		}
	} else {
		tags["role"] = "node"
	}
	return memberJSON{
		Name: a.cfg.NodeName, Addr: a.advertiseIP(), Port: uint16(a.cfg.Ports.SerfLAN), Tags: tags,
		Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

// agentMembers lists the LAN gossip members, or with ?wan=1 the servers as
// the WAN pool names them ("node.dc", on the serf_wan port). agentd has no
// WAN gossip: every server of this datacenter is its WAN view, and each is
// assumed to use this agent's serf_wan port.
func (a *Agent) agentMembers(w http.ResponseWriter, r *http.Request) error {
	filter, err := queryFilter(r.URL.Query())
	if err != nil {
		return err
	}
	var out []memberJSON
	if a.cluster == nil {
		out = []memberJSON{a.selfMember()}
	} else {
		for _, m := range a.cluster.gossip.Members() {
			host, port, err := net.SplitHostPort(m.Addr)
			if err != nil {
				continue
			}
			p, _ := strconv.ParseUint(port, 10, 16)
			mj := a.selfMember()
			mj.Name, mj.Addr, mj.Port, mj.Tags, mj.Status = m.Name, host, uint16(p), orEmpty(m.Tags), int(m.Status)
			out = append(out, mj)
		}
	}
	if r.URL.Query().Get("wan") != "" { // Consul: a bare ?wan is the LAN

		wan := []memberJSON{}
		for _, m := range out {
			if m.Tags["role"] != "consul" {
				continue
			}
			m.Name = m.Name + "." + a.cfg.Datacenter
			m.Port = uint16(a.cfg.Ports.SerfWAN)
			wan = append(wan, m)
		}
		out = wan
	}
	if out, err = filterItems(filter, out); err != nil {
		return err
	}
	if out == nil {
		out = []memberJSON{}
	}
	return writeJSON(w, out)
}

// nodeMeta is this agent's node_meta, never null.
func (a *Agent) nodeMeta() map[string]string {
	m := map[string]string{}
	maps.Copy(m, a.cfg.NodeMeta)
	return m
}

// agentSelf describes this agent. Before its Raft server runs (a server
// waiting for bootstrap_expect peers) the raft stats are a follower's with
// an empty log, as Consul's are then.
func (a *Agent) agentSelf(w http.ResponseWriter, r *http.Request) error {
	var st raft.Status
	var drvStats driver.Stats
	lastContact := "never"
	if a.srvPtr.Load() != nil {
		var err error
		if st, err = a.raftStatus(r.Context()); err != nil {
			return err
		}
		if drvStats, err = a.srv.drv.Stats(r.Context()); err != nil {
			return err
		}
		lastContact = a.srv.lastContactString()
	}
	storeStats := a.store.Stats()
	out := map[string]any{
		"Config": map[string]any{
			"Datacenter": a.cfg.Datacenter, "PrimaryDatacenter": a.cfg.PrimaryDC(),
			"NodeName": a.cfg.NodeName, "NodeID": a.nodeID, "Server": a.cfg.Server,
			"Revision": Revision, "Version": Version, "BuildDate": buildDate,
		},
		"DebugConfig": map[string]any{
			"DevMode": a.cfg.DevMode, "DataDir": a.cfg.DataDir, "HTTPAddr": a.HTTPAddr(),
			"RaftMultiplier": a.cfg.RaftMultiplier, "BootstrapExpect": a.cfg.BootstrapExpect,
			"Datacenter": a.cfg.Datacenter, "NodeName": a.cfg.NodeName, "NodeID": a.nodeID,
			"ServerMode": a.cfg.Server, "Bootstrap": a.cfg.Bootstrap,
			// Consul's form, which its api tests join through.
			"SerfAdvertiseAddrLAN": "tcp://" + a.serfAddrLAN(),
			"SerfAdvertiseAddrWAN": "tcp://" + net.JoinHostPort(cmp.Or(a.cfg.AdvertiseAddrWAN, a.advertiseIP()), strconv.Itoa(a.cfg.Ports.SerfWAN)),
			"SerfPortLAN":          a.cfg.Ports.SerfLAN, "SerfPortWAN": a.cfg.Ports.SerfWAN,
			"ServerPort": a.cfg.Ports.Server, "ConnectEnabled": a.cfg.Connect.Enabled,
		},
		"Coord":  map[string]any{"Adjustment": 0, "Error": 1.5, "Height": 1e-5, "Vec": make([]float64, 8)},
		"Member": a.selfMember(),
		"Meta":   a.nodeMeta(),
		"Stats": map[string]map[string]string{
			// Consul's groups as `consul info` prints them; "agent" also
			// keeps agentd's version and revision. No services or checks
			// are registered on an agentd agent.
			"agent": {"version": Version, "revision": Revision, "check_monitors": "0", "check_ttls": "0", "checks": "0", "services": "0"},
			"build": {"prerelease": "", "revision": Revision, "version": Version, "version_metadata": ""},
			"consul": {
				"server": strconv.FormatBool(a.cfg.Server), "leader": strconv.FormatBool(st.SoftState.Role == raft.Leader),
				"leader_addr": a.leaderAddr(st), "known_datacenters": "1", "bootstrap": strconv.FormatBool(a.cfg.Bootstrap),
				"acl": "disabled",
			},
			"serf_lan": a.serfLANStats(),
			"raft": {
				"state": st.SoftState.Role.String(), "term": strconv.FormatUint(uint64(st.HardState.Term), 10),
				"commit_index":   strconv.FormatUint(uint64(st.HardState.Commit), 10),
				"applied_index":  strconv.FormatUint(uint64(st.Applied), 10),
				"last_log_index": strconv.FormatUint(uint64(st.LastIndex), 10),
				"num_peers":      strconv.Itoa(max(len(st.Configuration.Servers)-1, 0)),
				// hashicorp/raft's protocol figures Consul reports (raft_vsn 3).
				"protocol_version": "3", "protocol_version_min": "0", "protocol_version_max": "3",
				"snapshot_version_min": "0", "snapshot_version_max": "1",
				"fsm_pending": "0",
				// Counters of this process (not persisted): snapshots
				// received from a leader and installed, and taken locally.
				"snapshots_installed": strconv.FormatUint(drvStats.Installed, 10),
				"snapshots_taken":     strconv.FormatUint(drvStats.Snapshots, 10),
				"last_contact":        lastContact,
				// Dead servers this process removed while leading.
				"autopilot_removed": strconv.FormatUint(a.autopilotRemoved.Load(), 10),
			},
			"store": {
				"applies": strconv.FormatUint(storeStats.Applies, 10), "watch_fires": strconv.FormatUint(storeStats.WatchFires, 10),
				"wakeups": strconv.FormatUint(storeStats.Wakeups, 10), "watches_added": strconv.FormatUint(storeStats.WatchesAdded, 10),
			},
			"runtime": {
				"arch": runtimeArch(), "os": runtimeOS(), "goroutines": strconv.Itoa(numGoroutine()),
				"cpu_count": strconv.Itoa(runtime.NumCPU()), "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)), "version": runtime.Version(),
			},
		},
	}
	// The keys stored for Consul compatibility (node_meta, domain, ...).
	maps.Copy(out["DebugConfig"].(map[string]any), a.cfg.DebugExtras())
	return writeJSON(w, out)
}

// serfLANStats is Consul's serf_lan group: the member counts by status
// (members counts every member, as serf's), whether gossip is encrypted,
// and serf's queue and clock figures, which agentd's gossip does not keep
// ("0").
func (a *Agent) serfLANStats() map[string]string {
	members, failed, left := 1, 0, 0
	if a.cluster != nil {
		ms := a.cluster.gossip.Members()
		members = len(ms)
		for _, m := range ms {
			switch m.Status {
			case swim.StatusFailed:
				failed++
			case swim.StatusLeft:
				left++
			}
		}
	}
	return map[string]string{
		"members": strconv.Itoa(members), "failed": strconv.Itoa(failed), "left": strconv.Itoa(left),
		"encrypted": strconv.FormatBool(a.cfg.Encrypt != ""), "health_score": "0",
		"coordinate_resets": "0", "event_queue": "0", "event_time": "1", "intent_queue": "0",
		"member_time": "1", "query_queue": "0", "query_time": "1",
	}
}

// serfAddrLAN is this agent's gossip address as others reach it.
func (a *Agent) serfAddrLAN() string {
	return net.JoinHostPort(a.advertiseIP(), strconv.Itoa(a.cfg.Ports.SerfLAN))
}

func (a *Agent) leaderAddr(st raft.Status) string {
	for _, s := range st.Configuration.Servers {
		if s.ID == st.SoftState.Lead {
			return s.Address
		}
	}
	return ""
}

// agentJoin joins the LAN gossip pool through addr (default port: this
// agent's own serf_lan port, as memberlist's join defaults to its bind
// port). As Consul, any non-empty ?wan asks for the WAN pool; agentd
// runs none (one datacenter, its WAN view is synthesised from the LAN's
// servers), so that is refused as Consul refuses a WAN join it cannot do:
// a 500 with the reason.
func (a *Agent) agentJoin(w http.ResponseWriter, r *http.Request) error {
	addr := pathArg(r, "/v1/agent/join/")
	if r.URL.Query().Get("wan") != "" {
		return errStatus(http.StatusInternalServerError, "WAN join is not supported: agentd runs no WAN gossip pool")
	}
	if addr == "" {
		return errBadRequestf("Invalid address %q", addr)
	}
	if a.cluster == nil {
		if withDefaultPort(addr, strconv.Itoa(a.cfg.Ports.SerfLAN)) == a.serfAddrLAN() {
			return nil // joining ourselves: gossip's no-op
		}
		return errStatus(http.StatusInternalServerError, "join is not supported by a -dev agent (no gossip pool)")
	}
	_, gport, _ := net.SplitHostPort(a.cluster.gossip.LocalMember().Addr)
	addr = withDefaultPort(addr, gport)
	if addr == a.cluster.gossip.LocalMember().Addr {
		return nil // joining ourselves: serf's join of its own address succeeds
	}
	// Consul's join is synchronous: a member it cannot reach is a 500
	// naming it (memberlist's multierror text), and nothing is retried.
	// The gossip join is asynchronous and retries, so reachability is
	// checked first with a plain TCP connect to the push-pull port.
	conn, err := net.DialTimeout("tcp", addr, joinDialTimeout)
	if err != nil {
		return errStatus(http.StatusInternalServerError, "1 error occurred:\n\t* Failed to join %s: %v\n\n", addr, err)
	}
	conn.Close()
	return a.cluster.gossip.Join([]string{addr})
}

// joinDialTimeout bounds PUT /v1/agent/join's reachability check
// (memberlist's TCPTimeout is 10 s; a LAN peer answers in far less).
const joinDialTimeout = 5 * time.Second

// agentLeave leaves gracefully (a server also leaves the Raft
// configuration), then the command shuts the agent down.
func (a *Agent) agentLeave(w http.ResponseWriter, r *http.Request) error {
	if err := a.Leave(r.Context()); err != nil {
		return err
	}
	a.leftOnce.Do(func() { close(a.leftc) })
	return nil
}

func (a *Agent) agentForceLeave(w http.ResponseWriter, r *http.Request) error {
	node := pathArg(r, "/v1/agent/force-leave/")
	if node == a.cfg.NodeName {
		// Consul broadcasts the leave intent and the live node refutes it:
		// for the local node it is a no-op.
		return nil
	}
	if a.cluster == nil {
		return errStatus(http.StatusInternalServerError, "agent: No node found with name '%s'", node)
	}
	err := a.cluster.gossip.ForceLeave(node)
	if errors.Is(err, swim.ErrUnknownMember) {
		return errStatus(http.StatusInternalServerError, "agent: No node found with name '%s'", node)
	}
	return err
}
