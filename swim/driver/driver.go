package driver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/swim"
)

// ErrStopped is returned by calls on a stopped driver.
var ErrStopped = errors.New("swim/driver: stopped")

var errorsIs = errors.Is

// Driver runs one swim.Node on a Transport and a Clock. One goroutine (the
// loop) owns the core and handles, one at a time: inbound datagrams, the
// deadline timer, results of streams, and API calls. Everything that may
// block (stream I/O, fsync, the event consumer) runs on other goroutines.
type Driver struct {
	cfg Config
	log *slog.Logger
	clk clock.Clock
	tr  Transport
	kr  *Keyring // nil: no encryption

	// core is touched only by the loop goroutine (and by New before it).
	core *swim.Node

	inbox chan inbound  // datagrams for the loop; capacity InboxSize
	calls chan func()   // work for the loop
	wake  chan struct{} // capacity 1: the deadline timer fired

	ctx    context.Context // cancelled by Stop: ends the loop, closes streams
	cancel context.CancelFunc
	done   chan struct{} // closed when the loop has returned

	// lifeMu guards stopping and orders streams.Add before streams.Wait.
	lifeMu   sync.Mutex
	stopping bool
	streams  sync.WaitGroup
	stopOnce sync.Once

	inStreams, outStreams chan struct{} // semaphores for stream goroutines

	events  *eventQueue
	persist *persister // nil without DataDir
	c       counters

	// Loop-owned state.
	timer       clock.Timer // armed at timerAt; nil after it fired
	timerAt     time.Time
	left        bool // Leave was called (persisted: no rejoin on restart)
	lastInc     swim.Incarnation
	lastClock   swim.LamportTime
	leaveWaits  []chan struct{} // closed once the core's LeaveDone
	finalMember []swim.Member   // Members at loop exit, for calls after Stop
	finalStats  swim.Stats
}

type inbound struct {
	from    string
	payload []byte
}

// New builds the driver, restores persisted state from DataDir, starts
// receiving and, if the persisted state names peers, rejoins them. Call
// Stop to release it.
func New(cfg Config) (*Driver, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Driver{
		cfg:        cfg,
		log:        cfg.Logger.With("pool_addr", cfg.Swim.Addr),
		clk:        cfg.Clock,
		tr:         cfg.Transport,
		inbox:      make(chan inbound, cfg.InboxSize),
		calls:      make(chan func()),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		inStreams:  make(chan struct{}, cfg.MaxInboundStreams),
		outStreams: make(chan struct{}, cfg.MaxOutboundStreams),
		events:     newEventQueue(cfg.OnEvent),
	}
	state, err := d.restore()
	if err != nil {
		return nil, err
	}
	scfg := cfg.Swim
	if scfg.Logger == nil {
		scfg.Logger = cfg.Logger
	}
	if state != nil && state.Name == scfg.Name {
		scfg.Incarnation = max(scfg.Incarnation, state.Incarnation+1)
		scfg.EventClock = max(scfg.EventClock, state.EventClock)
		d.left = state.Left
	}
	d.core, err = swim.New(scfg, d.clk.Now())
	if err != nil {
		return nil, err
	}
	d.lastInc, d.lastClock = scfg.Incarnation, scfg.EventClock
	d.ctx, d.cancel = context.WithCancel(context.Background())

	go d.events.run()
	if d.persist != nil {
		go d.persist.run()
	}
	var rejoin []string
	if state != nil && (!state.Left || cfg.RejoinAfterLeave) {
		for _, m := range state.Members {
			rejoin = append(rejoin, m.Addr)
		}
		d.left = false
	}
	go d.run()
	if err := d.tr.Serve(d); err != nil {
		d.Stop()
		return nil, err
	}
	if len(rejoin) > 0 {
		d.log.Info("rejoining persisted peers", "peers", len(rejoin), "incarnation", scfg.Incarnation)
		if err := d.Join(rejoin); err != nil {
			d.log.Warn("rejoin", "err", err)
		}
	}
	return d, nil
}

// restore loads the keyring and the state from DataDir (if any) and sets
// up the keyring.
func (d *Driver) restore() (*persistedState, error) {
	cfg := &d.cfg
	keys := cfg.Keys
	var state *persistedState
	if cfg.DataDir != "" {
		if err := cfg.FS.MkdirAll(cfg.DataDir); err != nil {
			return nil, err
		}
		saved, err := loadKeyring(cfg.FS, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if saved != nil {
			if len(cfg.Keys) > 0 {
				d.log.Info("using the persisted keyring; Keys ignored", "dir", cfg.DataDir)
			}
			keys = saved
		}
		state, err = loadState(cfg.FS, cfg.DataDir)
		if err != nil {
			// Rejoin is best-effort: start fresh rather than not at all.
			// The incarnation is refuted upward once peers tell us.
			d.log.Warn("ignoring persisted state", "err", err)
			state = nil
		}
		d.persist = newPersister(cfg.FS, cfg.DataDir, d.log)
	}
	if len(keys) == 0 {
		return state, nil
	}
	kr, err := NewKeyring(keys, cfg.KeyRand)
	if err != nil {
		return nil, err
	}
	if cfg.DataDir != "" {
		kr.save = func(k [][]byte) error { return saveKeyring(cfg.FS, cfg.DataDir, k) }
		kr.mu.Lock()
		err := kr.apply(kr.keys, kr.aeads) // make Keys durable on first start
		kr.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	d.kr = kr
	return state, nil
}

// ---- the loop ----

func (d *Driver) run() {
	defer close(d.done)
	d.afterInput()
	for {
		select {
		case p := <-d.inbox:
			d.core.HandlePacket(d.clk.Now(), p.from, p.payload)
		case <-d.wake:
			d.timer = nil
			d.core.Tick(d.clk.Now())
		case f := <-d.calls:
			f()
		case <-d.ctx.Done():
			if d.timer != nil {
				d.timer.Stop()
			}
			d.finalMember = d.core.Members()
			d.finalStats = d.core.Stats()
			if d.persist != nil {
				d.persist.offer(d.snapshotState())
			}
			return
		}
		d.afterInput()
	}
}

// afterInput drains the core's output and re-arms the deadline timer.
func (d *Driver) afterInput() {
	dirty := false
	if d.core.HasReady() {
		rd := d.core.Ready()
		for _, p := range rd.Packets {
			if p.Stream {
				d.startStream(p)
			} else {
				d.sendPacket(p)
			}
		}
		for _, e := range rd.Events {
			dirty = dirty || e.Type != swim.EventUser
		}
		d.events.push(rd.Events)
	}
	if inc, c := d.core.LocalMember().Incarnation, d.core.EventClock(); inc != d.lastInc || c != d.lastClock {
		d.lastInc, d.lastClock, dirty = inc, c, true
	}
	if dirty && d.persist != nil {
		d.persist.offer(d.snapshotState())
	}
	if len(d.leaveWaits) > 0 && d.core.LeaveDone() {
		for _, w := range d.leaveWaits {
			close(w)
		}
		d.leaveWaits = nil
	}
	d.armTimer()
}

// armTimer keeps one timer armed at the core's next deadline.
func (d *Driver) armTimer() {
	at := d.core.NextDeadline()
	if d.timer != nil && at.Equal(d.timerAt) {
		return
	}
	if d.timer != nil {
		d.timer.Stop() // a stale fire only causes an early, harmless Tick
	}
	d.timerAt = at
	d.timer = d.clk.AfterFunc(max(0, at.Sub(d.clk.Now())), d.poke)
}

func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Driver) snapshotState() *persistedState {
	self := d.core.LocalMember()
	s := &persistedState{
		Version:     stateVersion,
		Name:        self.Name,
		Incarnation: self.Incarnation,
		EventClock:  d.core.EventClock(),
		Left:        d.left,
	}
	for _, m := range d.core.Members() {
		if m.Name != self.Name && (m.State == swim.StateAlive || m.State == swim.StateSuspect) {
			s.Members = append(s.Members, persistedMember{Name: m.Name, Addr: m.Addr})
		}
	}
	return s
}

func (d *Driver) sendPacket(p swim.Packet) {
	wire, err := wrap(d.kr, chanPacket, p.Payload)
	if err == nil {
		err = d.tr.WritePacket(p.To, wire)
	}
	if err != nil {
		d.c.sendErrors.Add(1)
		d.log.Debug("send packet", "to", p.To, "err", err)
		return
	}
	d.c.packetsOut.Add(1)
}

// ---- calls into the loop ----

// call runs f on the loop and waits for it.
func (d *Driver) call(f func()) error {
	ran := make(chan struct{})
	select {
	case d.calls <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-d.done:
		return ErrStopped
	}
}

// post runs f on the loop without waiting (dropped after Stop).
func (d *Driver) post(f func()) {
	select {
	case d.calls <- f:
	case <-d.done:
	}
}

// ---- Handler (called by the transport) ----

// HandlePacket opens the envelope on the transport's goroutine and queues
// the message for the loop; a full inbox drops it (counted).
func (d *Driver) HandlePacket(from string, p []byte) {
	d.c.packetsIn.Add(1)
	msg, err := unwrap(d.kr, d.cfg.AcceptPlaintext, chanPacket, p)
	if err != nil {
		d.c.countUnwrap(err)
		d.log.Debug("drop packet", "from", from, "err", err)
		return
	}
	if len(msg) > 0 && &msg[0] == &p[0] {
		msg = append([]byte(nil), msg...) // plaintext: p is the transport's buffer
	}
	select {
	case d.inbox <- inbound{from: from, payload: msg}:
	case <-d.done:
	default:
		d.c.inboxDropped.Add(1)
	}
}
