package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
)

// errNoLeader is Consul's 500 body when no leader answered within the hold
// timeout.
var errNoLeader = errors.New("No cluster leader")

// server is this agent's Raft server: the driver, and what the HTTP layer
// needs from it — proposals, read barriers, and the leader's readiness.
type server struct {
	id   raft.NodeID
	addr string // Raft address advertised in the configuration
	drv  *driver.Driver
	log  *slog.Logger
	clk  clock.Clock

	// closeLog closes the log store after the driver stopped.
	closeLog func() error

	mu sync.Mutex
	// ready: this server leads and has applied an entry of its own term
	// (the barrier Consul's leader runs before serving default reads).
	ready bool // guarded by mu
	// lead is the current leader's ID as last observed.
	lead raft.NodeID // guarded by mu
	// changed is closed and replaced whenever ready or lead changes.
	changed chan struct{} // guarded by mu
	// forward sends writes to the leader; nil for -dev (no transport).
	forward forwarder
	// gen counts leadership observations; a barrier started under an older
	// one must not mark the server ready.
	gen uint64 // guarded by mu

	// contact is the follower's time since it last heard from the leader,
	// nanoseconds (trackContact refreshes it).
	contact atomic.Int64
	// heard: a leader was heard from (or this server led) at some refresh
	// of contact; until then contact counts from the start.
	heard atomic.Bool

	// snapStop ends the snapshot timer (snapshots.go); snapDone is closed
	// when it returned. Both nil without raft_snapshot_interval.
	snapStop, snapDone chan struct{}
}

// serverConfig is what a server needs to start.
type serverConfig struct {
	id                raft.NodeID
	addr              string
	fsm               driver.FSM
	multiplier        int
	snapshotThreshold int
	// snapshotInterval (raft_snapshot_interval): how often, with jitter,
	// the threshold is checked; 0 takes a snapshot as soon as the
	// threshold is reached.
	snapshotInterval time.Duration
	trailingLogs     int
	walSegmentMB     int // raft_logstore.wal.segment_size_mb; 0: wal's default
	log              *slog.Logger
	seed             uint64
	// onFatal is told when a storage write failed and the server stopped.
	onFatal func(error)
}

// startDevServer starts an in-memory single-server cluster that elects
// itself at once: -dev.
func startDevServer(cfg serverConfig) (*server, error) {
	mem := drivertest.NewMemLog()
	conf := raft.Configuration{Servers: []raft.Server{{ID: cfg.id, Address: cfg.addr, Suffrage: raft.Voter}}}
	if err := driver.Bootstrap(mem, conf); err != nil {
		return nil, fmt.Errorf("agent: bootstrap: %w", err)
	}
	s, err := startServer(cfg, mem, drivertest.NewSnapshotStore(), nopTransport{})
	if err != nil {
		return nil, err
	}
	// One voter: no need to sit out an election timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.drv.Campaign(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("agent: campaign: %w", err)
	}
	return s, nil
}

func startServer(cfg serverConfig, log driver.LogStore, snaps driver.SnapshotStore, tr driver.Transport) (*server, error) {
	rc := raft.DefaultConfig(cfg.id, clock.NewRand(cfg.seed)).Scaled(cfg.multiplier)
	rc.Logger = cfg.log
	dc := driver.DefaultConfig(rc)
	dc.SnapshotThreshold = raft.Index(cfg.snapshotThreshold)
	if cfg.snapshotInterval > 0 {
		// Only the timer snapshots (startSnapshotTimer).
		dc.SnapshotThreshold = driver.SnapshotThresholdNever
	}
	dc.TrailingLogs = raft.Index(cfg.trailingLogs)
	dc.Logger = cfg.log
	s := &server{id: cfg.id, addr: cfg.addr, log: cfg.log, clk: clock.Real{}, changed: make(chan struct{}), closeLog: log.Close}
	dc.OnFatal = func(err error) {
		cfg.log.Error("raft storage failed; server stopped", "error", err)
		if cfg.onFatal != nil {
			cfg.onFatal(err)
		}
	}
	drv, err := driver.Start(dc, driver.DriverDeps{Log: log, Snapshots: snaps, FSM: cfg.fsm, Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("agent: start raft: %w", err)
	}
	s.drv = drv
	if cfg.snapshotInterval > 0 {
		s.startSnapshotTimer(cfg.snapshotInterval, raft.Index(cfg.snapshotThreshold), clock.NewRand(cfg.seed^0x5eed))
	}
	return s, nil
}

func (s *server) stop() {
	if s.snapStop != nil {
		close(s.snapStop)
		<-s.snapDone
	}
	s.drv.Stop()
	if err := s.closeLog(); err != nil {
		s.log.Error("close raft log", "error", err)
	}
}

// observe records a leadership observation (never ready yet) and returns
// its generation.
func (s *server) observe(lead raft.NodeID) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.set(lead, false)
	return s.gen
}

// markReady marks this server a ready leader if no newer observation came
// since gen.
func (s *server) markReady(gen uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return false
	}
	s.set(s.id, true)
	return true
}

// set changes the state and wakes waiters. Callers hold mu.
func (s *server) set(lead raft.NodeID, ready bool) {
	if s.lead == lead && s.ready == ready {
		return
	}
	s.lead, s.ready = lead, ready
	close(s.changed)
	s.changed = make(chan struct{})
}

// state returns the observed leader and whether this server is a ready
// leader, with the channel closed at the next change.
func (s *server) state() (raft.NodeID, bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lead, s.ready, s.changed
}

// knownLeader reports whether a leader is known.
func (s *server) knownLeader() bool {
	lead, _, _ := s.state()
	return lead != raft.None
}

// waitReadyLeader waits, at most rpcHoldTimeout, until this server is a
// ready leader. A known leader elsewhere is errNotLeader (the caller
// forwards, or reads through ReadIndex).
func (s *server) waitReadyLeader(ctx context.Context) error {
	_, err := s.waitLeader(ctx, false)
	return err
}

// waitLeader waits, at most rpcHoldTimeout, for a ready leader here or
// (when anyLeader) a known leader elsewhere, and returns the leader's ID.
func (s *server) waitLeader(ctx context.Context, anyLeader bool) (raft.NodeID, error) {
	hold := time.NewTimer(rpcHoldTimeout)
	defer hold.Stop()
	for {
		lead, ready, changed := s.state()
		if ready {
			return s.id, nil
		}
		if lead != raft.None && lead != s.id {
			if anyLeader {
				return lead, nil
			}
			return lead, errNotLeader{lead: lead}
		}
		select {
		case <-changed:
		case <-hold.C:
			return raft.None, errNoLeader
		case <-ctx.Done():
			return raft.None, ctx.Err()
		}
	}
}

// errNotLeader: another server leads.
type errNotLeader struct{ lead raft.NodeID }

// errNotLeaderPrefix starts errNotLeader's text, which a forwarding
// server reads back from the RPC (refusedUnapplied).
const errNotLeaderPrefix = "not the leader"

func (e errNotLeader) Error() string {
	return fmt.Sprintf("%s (leader is %s)", errNotLeaderPrefix, e.lead)
}

// forwarder sends a command to the leader at addr and returns its result.
type forwarder func(ctx context.Context, addr string, cmd []byte) (any, uint64, error)

// errNotApplied marks a forwarding failure after which the command
// provably was not applied: it was not sent, or the server asked was not
// the ready leader (a leadership change under way) and proposed nothing.
var errNotApplied = errors.New("not applied")

// forwardRetryPause is how long a refused forward waits for this server to
// see a leadership change before it asks again.
const forwardRetryPause = 50 * time.Millisecond

// propose replicates cmd through Raft and returns the FSM's result and
// the entry's index: here when this server is the ready leader, else
// forwarded to the leader. A forward that was not applied (errNotApplied)
// is tried again, at the leader this server knows then, until
// rpcHoldTimeout: Consul's ForwardRPC likewise retries "No cluster leader"
// ("always safe to retry since no state could have been changed"), so a
// write through a follower rides out a leader's step-down.
func (s *server) propose(ctx context.Context, cmd []byte) (any, uint64, error) {
	hold := time.NewTimer(rpcHoldTimeout)
	defer hold.Stop()
	for {
		lead, err := s.waitLeader(ctx, s.forward != nil)
		if err != nil {
			return nil, 0, err
		}
		if lead == s.id {
			break
		}
		_, _, changed := s.state()
		addr, err := s.addrOf(ctx, lead)
		if err != nil {
			return nil, 0, err
		}
		res, idx, err := s.forward(ctx, addr, cmd)
		if !errors.Is(err, errNotApplied) {
			return res, idx, err
		}
		pause := time.NewTimer(forwardRetryPause)
		select {
		case <-changed:
		case <-pause.C:
		case <-hold.C:
			return nil, 0, err
		case <-ctx.Done():
			return nil, 0, err
		}
		pause.Stop()
	}
	res, idx, err := s.drv.Propose(ctx, cmd)
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrTransferInProgress) {
		return nil, 0, errNoLeader
	}
	return res, uint64(idx), err
}

// addrOf returns a server's Raft address from the configuration.
func (s *server) addrOf(ctx context.Context, id raft.NodeID) (string, error) {
	st, err := s.drv.Status(ctx)
	if err != nil {
		return "", err
	}
	for _, sv := range st.Configuration.Servers {
		if sv.ID == id {
			return sv.Address, nil
		}
	}
	return "", errNoLeader
}

// readBarrier makes a read of the local state valid for mode c. A
// follower serves leader and consistent reads after a ReadIndex round
// through the leader (linearizable, stronger than Consul's forwarded
// default read).
//
// A stale read is served locally only once this server has heard from a
// leader; until then it is a default read. Consul's ForwardRPC likewise
// forwards a stale read to the leader while raft.LastContact is unset, so
// a just-started follower neither answers from a state it has not caught
// up nor reports its time since start as its staleness.
func (s *server) readBarrier(ctx context.Context, c Consistency) error {
	if c == ConsistencyStale {
		if s.heard.Load() {
			return nil
		}
		c = ConsistencyLeader
	}
	lead, err := s.waitLeader(ctx, true)
	if err != nil {
		return err
	}
	if lead == s.id && c == ConsistencyLeader {
		return nil
	}
	_, err = s.drv.ReadIndex(ctx)
	return err
}

// nopTransport is the -dev server's network: it has no peers.
type nopTransport struct{}

func (nopTransport) Send(raft.NodeID, string, []byte, bool) {}

func (nopTransport) SendSnapshot(_ raft.NodeID, _ string, _ raft.Message, _ func() (io.ReadCloser, error), done func(bool)) {
	done(false)
}

// contactPoll is how often the follower's last-contact figure is
// refreshed from the driver: reads take it from an atomic instead of a
// round trip through the Raft loop per request.
const contactPoll = 50 * time.Millisecond

// trackContact refreshes s.contact until stop is closed.
func (s *server) trackContact(stop <-chan struct{}) {
	start := time.Now()
	tick := time.NewTicker(contactPoll)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		since, known, err := s.drv.LastContact(ctx)
		cancel()
		if err == nil {
			if !known {
				since = time.Since(start) // never heard from a leader
			}
			s.contact.Store(int64(since))
			if known {
				s.heard.Store(true)
			}
		}
		select {
		case <-stop:
			return
		case <-s.drv.Done():
			return
		case <-tick.C:
		}
	}
}

// lastContact is the time since this server last heard from the leader
// (0 on the leader), accurate to a Raft tick plus contactPoll.
func (s *server) lastContact() time.Duration {
	if _, ready, _ := s.state(); ready {
		return 0
	}
	return time.Duration(s.contact.Load())
}

// lastContactString is the raft stat last_contact as hashicorp/raft's
// Stats: "0" on the leader, "never" on a server that has not heard from
// one, else a duration.
func (s *server) lastContactString() string {
	d := s.lastContact()
	if d == 0 {
		return "0"
	}
	if !s.heard.Load() {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}
