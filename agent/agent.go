package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/agent/config"
	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/store"
)

// Agent is a running agentd agent (server mode only, for now).
type Agent struct {
	cfg    config.Config
	log    *slog.Logger
	nodeID string

	store    *store.Store
	srv      *server
	sessions *sessionTimers

	httpSrv *http.Server
	httpLn  net.Listener

	// stopc is closed by Shutdown: blocked queries return, loops end.
	stopc chan struct{}
	// blocking is the blocking queries' shared state (http_blocking.go).
	blocking blockingState
	stopOnce sync.Once
	wg       sync.WaitGroup
	// leftc is closed once a leave was requested through the API.
	leftc    chan struct{}
	leftOnce sync.Once

	// fatalc receives the error that stopped the server (storage failure).
	fatalc chan error

	// cluster is the gossip pool and server transport; nil for -dev.
	cluster *cluster
	// raftAddr is the advertised Raft address once known (cluster mode).
	raftAddr string
	// srvPtr publishes srv to RPC handlers, which run before New returns.
	srvPtr atomic.Pointer[server]
	// srvReady is closed once srv and srvPtr are set: HTTP requests that
	// came before wait for it (http_early.go).
	srvReady chan struct{}
	// gossipReady is closed once cluster and its gossip pool run, before
	// Raft does: the agent's local endpoints (members, join, self) serve
	// from then on (http_early.go).
	gossipReady chan struct{}

	// healthSince keeps the autopilot health endpoints' StableSince.
	healthSince healthSince
	// events are the recent user events this agent accepted (events.go).
	events eventBuffer
	// reload is what PUT /v1/agent/reload runs (reload.go).
	reload reloader
	// monitors are the open /v1/agent/monitor streams (monitor.go).
	monitors *monitors

	// panics counts handler panics recovered by wrap (the fuzz target
	// requires it to stay 0).
	panics atomic.Uint64
	// autopilotRemoved counts dead servers this agent removed from the
	// Raft configuration while leading.
	autopilotRemoved atomic.Uint64
}

// startTimeout bounds how long New waits for its peers (bootstrap_expect,
// or a running cluster to add it): 0, the product's setting, waits as
// long as it takes, as Consul does. Tests set it, so that a cluster whose
// one server failed to start fails the test instead of hanging it.
var startTimeout time.Duration

// New starts an agent: the Raft server with the store as its state
// machine, the leader loop, and the HTTP API. -dev is an in-memory
// single server without gossip; any other server runs gossip and the
// server RPC transport (cluster.go): -bootstrap elects itself at once,
// -bootstrap-expect N waits for N servers, and a server with neither
// waits to be added by a running cluster.
func New(cfg config.Config, log *slog.Logger) (*Agent, error) {
	// Every agent log line also goes to the open /v1/agent/monitor streams.
	mh := newMonitorHandler(log.Handler())
	log = slog.New(mh)
	if !cfg.Server {
		return nil, errors.New("agent: client mode is not implemented yet; run with -server or -dev")
	}
	if cfg.BootstrapExpect > 0 {
		// Config validation refuses both; an embedder starting from
		// config.Dev() (bootstrap on) and setting bootstrap_expect means
		// the latter.
		cfg.Bootstrap = false
	}
	a := &Agent{
		cfg:      cfg,
		log:      log,
		monitors: mh.mons,
		store:    store.New(),
		stopc:    make(chan struct{}),
		blocking: newBlockingState(),
		leftc:    make(chan struct{}),
		fatalc:   make(chan error, 1),
		srvReady: make(chan struct{}),

		gossipReady: make(chan struct{}),
	}
	a.nodeID = cfg.NodeID
	if cfg.DevMode && a.nodeID == "" {
		a.nodeID = newUUID()
	} else if !cfg.DevMode {
		id, err := loadNodeID(cfg.DataDir, cfg.NodeID)
		if err != nil {
			return nil, err
		}
		a.nodeID = id
	}
	a.sessions = newSessionTimers(a)
	scfg := serverConfig{
		id:                raft.NodeID(a.nodeID),
		addr:              a.serverAddr(),
		fsm:               store.NewFSM(a.store),
		multiplier:        cfg.RaftMultiplier,
		snapshotThreshold: cfg.RaftSnapshotThreshold,
		snapshotInterval:  cfg.RaftSnapshotInterval,
		trailingLogs:      cfg.RaftTrailingLogs,
		walSegmentMB:      cfg.RaftWALSegmentSizeMB,
		log:               log.With("module", "raft"),
		seed:              seed(),
		onFatal:           a.fatal,
	}
	var srv *server
	var err error
	if cfg.DevMode {
		srv, err = startDevServer(scfg)
	} else if err = a.startHTTP(); err == nil {
		// -bootstrap, -bootstrap-expect N, or neither (join only: wait
		// for a running cluster's leader to add this server). HTTP is
		// up meanwhile (http_early.go).
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if startTimeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, startTimeout)
		}
		srv, err = a.startCluster(ctx, scfg)
		cancel()
		if err != nil {
			close(a.stopc) // releases requests waiting for the server
			a.httpSrv.Close()
		}
	}
	if err != nil {
		if a.cluster != nil {
			a.cluster.stop()
		}
		return nil, err
	}
	a.srv = srv
	a.srvPtr.Store(srv)
	close(a.srvReady)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		srv.runLeaderLoop(a.stopc, a.leaderDuties)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		srv.trackContact(a.stopc)
	}()
	if a.httpSrv == nil {
		// -dev: serve HTTP once this node is in the catalog, so that a
		// client's first session (which names this node) is not refused
		// with "Missing node registration"; it takes milliseconds.
		a.awaitSelfRegistered(5 * time.Second)
		if err := a.startHTTP(); err != nil {
			a.Shutdown(context.Background())
			return nil, err
		}
	}
	log.Info("agent started", "node", cfg.NodeName, "node_id", a.nodeID, "datacenter", cfg.Datacenter,
		"http", a.HTTPAddr(), "server", cfg.Server, "dev", cfg.DevMode)
	return a, nil
}

// awaitSelfRegistered waits (at most limit) until this agent's node is in
// the catalog.
func (a *Agent) awaitSelfRegistered(limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		ws := store.NewWatchSet()
		if _, n := a.store.Node(ws, a.cfg.NodeName); n != nil {
			return
		}
		if !ws.Wait(ctx) {
			a.log.Warn("this node is not in the catalog yet; serving HTTP anyway", "waited", limit)
			return
		}
	}
}

func (a *Agent) startHTTP() error {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr())
	if err != nil {
		return fmt.Errorf("agent: http listen: %w", err)
	}
	a.httpLn = ln
	a.httpSrv = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		// Longer than the longest blocking query plus its jitter.
		WriteTimeout: maxQueryTime + maxQueryTime/16 + 30*time.Second,
		IdleTimeout:  parkIdleTimeout,
		ErrorLog:     slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	limited := newLimitedListener(ln, a.cfg.HTTPMaxConnsPerClient)
	a.blocking.ln = limited
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.httpSrv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "error", err)
		}
	}()
	return nil
}

// HTTPAddr is the address the HTTP API listens on (with the real port when
// ports.http was 0).
func (a *Agent) HTTPAddr() string {
	if a.httpLn != nil {
		return a.httpLn.Addr().String()
	}
	return a.cfg.HTTPAddr()
}

// FatalCh delivers the error that stopped the Raft server (a failed disk
// write): the process should exit non-zero.
func (a *Agent) FatalCh() <-chan error { return a.fatalc }

func (a *Agent) fatal(err error) {
	select {
	case a.fatalc <- err:
	default:
	}
}

// LeaveCh is closed when a leave was requested through the API; the
// command then shuts the agent down.
func (a *Agent) LeaveCh() <-chan struct{} { return a.leftc }

// Shutdown stops accepting HTTP requests, releases blocked queries, stops
// the leader duties and Raft. Safe to call more than once.
func (a *Agent) Shutdown(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		close(a.stopc) // blocked queries return now
		a.blocking.stop()
		if a.httpSrv != nil {
			err = a.httpSrv.Shutdown(ctx)
		}
		a.sessions.stopAll()
		if a.srv != nil {
			a.srv.stop()
		}
		if a.cluster != nil {
			a.cluster.stop()
		}
		a.wg.Wait()
		a.log.Info("agent stopped")
	})
	return err
}

// serverAddr is the Raft/server RPC address advertised to peers.
func (a *Agent) serverAddr() string {
	if a.raftAddr != "" {
		return a.raftAddr
	}
	return net.JoinHostPort(a.advertiseIP(), strconv.Itoa(a.cfg.Ports.Server))
}

func (a *Agent) advertiseIP() string {
	switch {
	case a.cfg.AdvertiseAddr != "":
		return a.cfg.AdvertiseAddr
	case a.cfg.BindAddr != "" && a.cfg.BindAddr != "0.0.0.0" && a.cfg.BindAddr != "::":
		return a.cfg.BindAddr
	}
	return "127.0.0.1"
}

// leaderDuties run while this server is the ready leader.
func (a *Agent) leaderDuties(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if a.cluster != nil {
			a.reconcileMembers(ctx)
		} else {
			a.reconcileSelf(ctx)
		}
	}()
	if a.cluster != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.runAutopilot(ctx, clock.Real{}, a.autopilotConfigFrom())
		}()
	} else {
		// -dev has no servers to prune, but its autopilot configuration
		// is served and settable as everywhere.
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.seedAutopilot(ctx, a.autopilotConfigFrom())
		}()
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.reapTombstones(ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.maintainCA(ctx)
	}()
	a.sessions.startLeading(ctx)
}

// reconcileSelf registers this agent as a catalog node with a passing
// serfHealth check (the gossip→catalog reconcile for -dev, which has no
// gossip pool), retrying until it succeeds or leadership is lost.
func (a *Agent) reconcileSelf(ctx context.Context) {
	node := a.catalogNode(a.nodeID, a.cfg.NodeName, a.advertiseIP(), Version)
	reg := &store.Register{
		Node: node,
		Checks: []store.Check{{
			Node: a.cfg.NodeName, CheckID: store.SerfCheckID, Name: store.SerfCheckName,
			Status: store.HealthPassing, Output: "Agent alive and reachable",
		}},
	}
	if a.catalogHas(node, store.HealthPassing) {
		return
	}
	for ctx.Err() == nil {
		res, err := a.apply(ctx, reg)
		if err == nil && res.Err == nil {
			return
		}
		a.log.Warn("catalog: registering this node failed; retrying", "error", errors.Join(err, resErr(res)))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func resErr(r *store.Result) error {
	if r == nil {
		return nil
	}
	return r.Err
}

// apply proposes op through Raft (stamped with this leader's clock) and
// returns the store's result.
func (a *Agent) apply(ctx context.Context, op store.Op) (*store.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, rpcHoldTimeout+5*time.Second)
	defer cancel()
	res, _, err := a.srv.propose(ctx, store.EncodeCommand(time.Now(), op))
	if err != nil {
		return nil, err
	}
	r, ok := res.(*store.Result)
	if !ok || r == nil {
		return nil, fmt.Errorf("agent: unexpected apply result %T", res)
	}
	return r, nil
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("agent: crypto/rand failed: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func seed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var s uint64
	for _, x := range b {
		s = s<<8 | uint64(x)
	}
	return s
}
