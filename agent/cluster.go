package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/store"
	"github.com/agentd/agentd/swim"
	swimdriver "github.com/agentd/agentd/swim/driver"
	"github.com/agentd/agentd/transport"
)

// RPC methods served to other servers on the TCP transport.
const (
	rpcRaftState = "agent.raftState" // → JSON raftState (bootstrap safety, joining)
	rpcApply     = "agent.apply"     // command bytes → JSON rpcResult
	rpcRenew     = "agent.renew"     // session ID → "1" renewed, "0" unknown
	rpcRemove    = "agent.remove"    // server ID → "" (leader removes it from Raft)
	rpcTransfer  = "agent.transfer"  // server ID or "" → "" once the leader handed over

	rpcAutopilotHealth = "agent.autopilotHealth" // "" → JSON healthReplyJSON from the leader
	rpcKeyring         = "agent.keyring"         // JSON keyringOp → JSON keyringAnswer (every server)
)

// raftState is what a server tells a bootstrapping or restarting peer.
// ID and Leader are empty until the server's Raft runs.
type raftState struct {
	LastIndex uint64
	Servers   []raft.Server
	ID        raft.NodeID // the answering server
	Leader    raft.NodeID // the leader it knows of
}

// rpcResult is store.Result on the wire.
type rpcResult struct {
	Index uint64
	OK    bool
	Err   string
	Txn   *store.TxnResult
}

// cluster is a multi-server agent's networking: the server RPC/Raft
// transport and the gossip pool.
type cluster struct {
	tcp    *transport.TCP
	gossip *swimdriver.Driver
	// events nudges the leader's reconcile loop; never blocks.
	events chan struct{}

	warnMu sync.Mutex
	// warned: removed servers seen back in the pool, already logged.
	warned map[raft.NodeID]bool // guarded by warnMu
}

// startCluster brings up a server: the TCP transport, gossip with
// Consul's server tags, and Raft. From an existing data dir Raft starts at
// once. With an empty one: -bootstrap writes a configuration of this
// server alone (Consul's bootstrap, "bootstrap_expect 1"); -bootstrap-expect
// N waits until N servers are in the pool and none of them has Raft state
// (it blocks until then, or until ctx ends); a server with neither starts
// Raft empty and waits for a running cluster's leader to add it — it
// never bootstraps a cluster of its own (join.go).
func (a *Agent) startCluster(ctx context.Context, scfg serverConfig) (*server, error) {
	cfg := a.cfg
	c := &cluster{events: make(chan struct{}, 1)}
	a.cluster = c
	tcfg := transport.DefaultTCPConfig(net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Ports.Server)), filepath.Join(cfg.DataDir, "raft", "staging"))
	tcfg.Logger = a.log.With("module", "transport")
	tcp, err := transport.ListenTCP(tcfg)
	if err != nil {
		return nil, fmt.Errorf("agent: server RPC listen: %w", err)
	}
	c.tcp = tcp
	_, port, _ := net.SplitHostPort(tcp.Addr())
	scfg.addr = net.JoinHostPort(a.advertiseIP(), port)
	a.raftAddr = scfg.addr

	st, err := openRaftStorage(cfg.DataDir, scfg)
	if err != nil {
		return nil, err
	}
	l := st.log
	// lastIndex is what a peer hears before our Raft runs (read by the
	// RPC handler's goroutines).
	var lastIndex atomic.Uint64
	lastIndex.Store(uint64(st.lastIndex))
	tcp.SetRPCHandler(func(method string, req []byte) ([]byte, error) {
		switch method {
		case rpcRaftState:
			return json.Marshal(a.localRaftState(raft.Index(lastIndex.Load())))
		case rpcKeyring: // every member answers, leader or not
			return a.handleKeyringRPC(req)
		}
		return a.handleRPC(method, req)
	})

	if err := a.startGossip(c, port); err != nil {
		l.Close()
		return nil, err
	}
	close(a.gossipReady)
	empty, rejoined := st.empty, false
	if !empty && a.removedFromCluster(ctx, c) {
		if st, err = a.rejoinAsNewServer(c, &scfg, st, port); err != nil {
			return nil, err
		}
		l, empty, rejoined = st.log, true, true
		lastIndex.Store(0)
	}
	snaps := st.snaps
	var peers []raft.Server
	waitAdded := false
	switch {
	case !empty:
	case rejoined || (!a.cfg.Bootstrap && a.cfg.BootstrapExpect == 0):
		// A removed server rejoining (even a -bootstrap one: its cluster
		// runs without it) or a join-only server: the leader adds it.
		waitAdded = true
		a.log.Info("waiting for a running cluster's leader to add this server")
	case a.cfg.Bootstrap:
		conf := raft.Configuration{Servers: []raft.Server{{ID: scfg.id, Address: scfg.addr, Suffrage: raft.Voter}}}
		if err := driver.Bootstrap(l, conf); err != nil {
			l.Close()
			return nil, fmt.Errorf("agent: bootstrap: %w", err)
		}
		lastIndex.Store(uint64(l.LastIndex())) // peers asking now see state
		a.log.Info("raft bootstrapped by this server alone (bootstrap mode)")
	default:
		conf, join, err := a.awaitBootstrap(ctx, c)
		if err != nil {
			l.Close()
			return nil, err
		}
		if join {
			// A running cluster has us in its configuration: start empty
			// and let the leader replicate the log to us.
			peers = conf.Servers
			a.log.Info("joining a running cluster", "servers", len(peers))
		} else {
			if err := driver.Bootstrap(l, conf); err != nil {
				l.Close()
				return nil, fmt.Errorf("agent: bootstrap: %w", err)
			}
			lastIndex.Store(uint64(l.LastIndex()))
			a.log.Info("raft bootstrapped", "servers", len(conf.Servers))
		}
	}
	s, err := startServer(scfg, l, driver.WALSnapshots(snaps), tcp)
	if err != nil {
		l.Close()
		return nil, err
	}
	for _, p := range peers {
		s.drv.LearnAddr(p.ID, p.Address)
	}
	tcp.SetReceiver(s.drv)
	s.forward = a.forwardApply
	if waitAdded {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.learnServerAddrs(c, s)
		}()
	}
	a.maybeCampaignAlone(s)
	return s, nil
}

// localRaftState reports this server's Raft state: what the log held at
// open until the driver runs, then the driver's.
func (a *Agent) localRaftState(atOpen raft.Index) raftState {
	srv := a.srvPtr.Load()
	if srv == nil {
		return raftState{LastIndex: uint64(atOpen)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := srv.drv.Status(ctx)
	if err != nil {
		return raftState{LastIndex: uint64(max(atOpen, 1))}
	}
	lead, _, _ := srv.state()
	// A running server with an empty log (waiting to be added) reports 0,
	// as Consul's LastIndex: it holds no state a bootstrap could lose.
	return raftState{LastIndex: uint64(st.LastIndex), Servers: st.Configuration.Servers, ID: srv.id, Leader: lead}
}

// serverTags are Consul's gossip tags for a server.
func (a *Agent) serverTags(port string) map[string]string {
	tags := map[string]string{
		"role": "consul", "dc": a.cfg.Datacenter, "port": port, "id": a.nodeID,
		"vsn": "2", "vsn_min": "2", "vsn_max": "3", "raft_vsn": "3", "build": Version + ":" + Revision,
		// As Consul's server tags: no network segments (CE), ACLs
		// disabled ("0"), and the WAN gossip port a WAN join would use.
		"segment": "", "acls": "0", "wan_join_port": strconv.Itoa(a.cfg.Ports.SerfWAN),
	}
	if a.cfg.BootstrapExpect > 0 {
		tags["expect"] = strconv.Itoa(a.cfg.BootstrapExpect)
	}
	if a.cfg.Bootstrap {
		tags["bootstrap"] = "1"
	}
	return tags
}

func (a *Agent) startGossip(c *cluster, serverPort string) error {
	cfg := a.cfg
	bind := net.JoinHostPort(cfg.SerfBindIP(), strconv.Itoa(cfg.Ports.SerfLAN))
	nt, err := swimdriver.Listen(swimdriver.NetConfig{BindAddr: bind, Logger: a.log.With("module", "gossip")})
	if err != nil {
		return fmt.Errorf("agent: gossip listen: %w", err)
	}
	_, gport, _ := net.SplitHostPort(nt.Addr())
	addr := net.JoinHostPort(a.advertiseIP(), gport)
	sc := swim.LANConfig(cfg.NodeName, addr, clock.NewRand(seed()))
	if cfg.RaftMultiplier == 1 {
		sc = swim.LocalConfig(cfg.NodeName, addr, clock.NewRand(seed()))
	}
	sc.Tags = a.serverTags(serverPort)
	// Serf's clocks start at 1 ("so that the default join LTime of 0 does
	// not cause issues"): a fresh pool's first user event is LTime 1. The
	// driver raises it to a persisted clock.
	sc.EventClock = 1
	var keys []string
	if cfg.Encrypt != "" {
		keys = []string{cfg.Encrypt}
	}
	d, err := swimdriver.New(swimdriver.Config{
		Swim: sc, Transport: nt, Logger: a.log.With("module", "gossip"), Keys: keys,
		DataDir: filepath.Join(cfg.DataDir, "serf"), LeavePropagateDelay: time.Second,
		OnEvent: func(e swim.Event) {
			if e.Type == swim.EventUser && e.User != nil {
				a.ingestSwimEvent(e.User)
				return
			}
			c.nudge()
		},
	})
	if err != nil {
		nt.Close()
		return fmt.Errorf("agent: gossip: %w", err)
	}
	c.gossip = d
	if len(cfg.RetryJoin) > 0 {
		addrs := make([]string, len(cfg.RetryJoin))
		for i, ja := range cfg.RetryJoin {
			addrs[i] = withDefaultPort(ja, gport)
		}
		if err := d.Join(addrs); err != nil {
			a.log.Warn("gossip join failed", "error", err)
		}
	}
	return nil
}

func (c *cluster) nudge() {
	select {
	case c.events <- struct{}{}:
	default:
	}
}

// awaitBootstrap waits until bootstrap_expect alive servers of this
// datacenter (expecting the same number) are in the pool and none of them
// has Raft state, and returns the configuration they all compute alike. A
// pool that already formed a cluster must not get a second one: if a peer
// has state, it waits until that cluster's configuration names this server
// (the leader adds it) and returns that configuration with join set.
func (a *Agent) awaitBootstrap(ctx context.Context, c *cluster) (raft.Configuration, bool, error) {
	expect := a.cfg.BootstrapExpect
	a.log.Info("waiting for servers to bootstrap Raft", "bootstrap_expect", expect)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var servers []raft.Server
		bootstrapPeer := false
		for _, m := range c.gossip.Members() {
			if m.Status != swim.StatusAlive || m.Tags["role"] != "consul" || m.Tags["dc"] != a.cfg.Datacenter {
				continue
			}
			if m.Tags["bootstrap"] == "1" && m.Tags["id"] != a.nodeID {
				// Consul: a peer in bootstrap mode disables bootstrap_expect;
				// it runs (or will run) the cluster that adds us.
				bootstrapPeer = true
			}
			// A join-only server (no expect tag) counts, as in Consul.
			if e := m.Tags["expect"]; e != "" && e != strconv.Itoa(expect) {
				a.log.Error("servers disagree on bootstrap_expect", "member", m.Name, "expect", e)
				continue
			}
			host, _, err := net.SplitHostPort(m.Addr)
			if err != nil || m.Tags["id"] == "" {
				continue
			}
			servers = append(servers, raft.Server{ID: raft.NodeID(m.Tags["id"]), Address: net.JoinHostPort(host, m.Tags["port"]), Suffrage: raft.Voter})
		}
		if conf, found := a.runningCluster(ctx, c, servers); found {
			if conf != nil {
				return *conf, true, nil
			}
		} else if !bootstrapPeer && len(servers) >= expect && a.allPeersAnswered(ctx, c, servers) {
			slices.SortFunc(servers, func(x, y raft.Server) int {
				if x.ID < y.ID {
					return -1
				}
				if x.ID > y.ID {
					return 1
				}
				return 0
			})
			return raft.Configuration{Servers: servers}, false, nil
		}
		select {
		case <-ctx.Done():
			return raft.Configuration{}, false, ctx.Err()
		case <-a.stopc:
			return raft.Configuration{}, false, errors.New("agent: stopped before bootstrap")
		case <-tick.C:
		case <-c.events:
		}
	}
}

// peerState asks a server for its Raft state.
func (a *Agent) peerState(ctx context.Context, c *cluster, addr string) (raftState, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := c.tcp.Call(cctx, addr, rpcRaftState, nil)
	if err != nil {
		return raftState{}, err
	}
	var st raftState
	err = json.Unmarshal(b, &st)
	return st, err
}

// runningCluster reports whether some peer already has Raft state (found),
// and if one's configuration names this server, that configuration.
func (a *Agent) runningCluster(ctx context.Context, c *cluster, servers []raft.Server) (*raft.Configuration, bool) {
	found := false
	for _, s := range servers {
		if string(s.ID) == a.nodeID {
			continue
		}
		st, err := a.peerState(ctx, c, s.Address)
		if err != nil || st.LastIndex == 0 {
			continue
		}
		found = true
		for _, sv := range st.Servers {
			if string(sv.ID) == a.nodeID {
				return &raft.Configuration{Servers: st.Servers}, true
			}
		}
	}
	if found {
		a.log.Debug("bootstrap: a peer already has Raft state; waiting to be added")
	}
	return nil, found
}

// allPeersAnswered reports whether every other server answered (none
// with state: runningCluster checked), so none is about to bootstrap a
// different configuration unseen.
func (a *Agent) allPeersAnswered(ctx context.Context, c *cluster, servers []raft.Server) bool {
	for _, s := range servers {
		if string(s.ID) == a.nodeID {
			continue
		}
		if _, err := a.peerState(ctx, c, s.Address); err != nil {
			a.log.Debug("bootstrap: peer not answering yet", "peer", s.Address, "error", err)
			return false
		}
	}
	return true
}

// forwardApply sends a command to the leader.
func (a *Agent) forwardApply(ctx context.Context, addr string, cmd []byte) (any, uint64, error) {
	b, err := a.cluster.tcp.Call(ctx, addr, rpcApply, cmd)
	if err != nil {
		var re *transport.RemoteError
		switch {
		case errors.Is(err, transport.ErrNotSent), errors.As(err, &re) && refusedUnapplied(re.Message):
			return nil, 0, fmt.Errorf("%w: %w: forwarding to the leader: %v", errNoLeader, errNotApplied, err)
		case re != nil:
			return nil, 0, fmt.Errorf("%w: forwarding to the leader: %v", errNoLeader, err)
		}
		return nil, 0, err
	}
	var r rpcResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, 0, fmt.Errorf("agent: bad forwarded result: %w", err)
	}
	res := &store.Result{Index: r.Index, OK: r.OK, Txn: r.Txn}
	if r.Err != "" {
		res.Err = errors.New(r.Err)
	}
	return res, r.Index, nil
}

// refusedUnapplied reports a remote rpcApply error after which the
// command was not proposed (handleRPC): the server was not the ready
// leader (errNotLeader), or no leader was ready within the hold, or Raft
// dropped the proposal (errNoLeader, exactly: propose's own mapping).
func refusedUnapplied(msg string) bool {
	return msg == errNoLeader.Error() || strings.HasPrefix(msg, errNotLeaderPrefix)
}

// handleRPC serves the leader's side of forwarded requests.
func (a *Agent) handleRPC(method string, req []byte) ([]byte, error) {
	srv := a.srvPtr.Load()
	if srv == nil {
		return nil, errNoLeader
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcHoldTimeout+5*time.Second)
	defer cancel()
	if err := srv.waitReadyLeader(ctx); err != nil {
		return nil, err
	}
	switch method {
	case rpcApply:
		res, _, err := srv.propose(ctx, req)
		if err != nil {
			return nil, err
		}
		r, ok := res.(*store.Result)
		if !ok {
			return nil, fmt.Errorf("unexpected result %T", res)
		}
		a.afterApply(req, r)
		out := rpcResult{Index: r.Index, OK: r.OK, Txn: r.Txn}
		if r.Err != nil {
			out.Err = r.Err.Error()
		}
		return json.Marshal(out)
	case rpcRenew:
		_, s := a.store.SessionGet(nil, string(req))
		if s == nil {
			return []byte("0"), nil
		}
		a.sessions.reset(s.ID, s.TTL)
		return []byte("1"), nil
	case rpcRemove:
		return nil, srv.drv.RemoveServer(ctx, raft.NodeID(req))
	case rpcTransfer:
		return nil, a.transferLeadership(ctx, raft.NodeID(req))
	case rpcAutopilotHealth:
		h, err := a.autopilotHealth(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(h)
	}
	return nil, fmt.Errorf("unknown method %q", method)
}

// afterApply keeps the leader's session timers in step with forwarded
// session writes.
func (a *Agent) afterApply(cmd []byte, r *store.Result) {
	if r.Err != nil {
		return
	}
	c, err := store.DecodeCommand(cmd)
	if err != nil {
		return
	}
	switch op := c.Op.(type) {
	case *store.SessionCreate:
		a.sessions.reset(op.Session.ID, op.Session.TTL)
	case *store.SessionDestroy:
		a.sessions.clear(op.ID)
	}
}

// leaderAddr returns the current leader's Raft address ("" if none).
func (a *Agent) leaderRaftAddr(ctx context.Context) (string, raft.NodeID, error) {
	lead, err := a.srv.waitLeader(ctx, true)
	if err != nil {
		return "", raft.None, err
	}
	addr, err := a.srv.addrOf(ctx, lead)
	return addr, lead, err
}

// stopCluster stops gossip and the transport (after Raft stopped).
func (c *cluster) stop() {
	if c.gossip != nil {
		c.gossip.Stop()
	}
	if c.tcp != nil {
		c.tcp.Close()
	}
}
