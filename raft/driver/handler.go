package driver

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/agentd/agentd/raft"
)

// Deps are the Handler's collaborators.
type Deps struct {
	Log       LogStore
	Snapshots SnapshotStore
	FSM       FSM
	Transport Transport
	// Disk runs LogStore writes; Apply runs the FSM; Snap writes snapshot
	// files. All three must be FIFO (see Worker).
	Disk, Apply, Snap Worker
}

// Stats counts what the handler dropped or did; read it with Handler.Stats.
type Stats struct {
	BadMessages   uint64 // payloads DecodeMessage rejected
	StepErrors    uint64 // messages the core rejected
	DiskJobs      uint64 // LogStore.Append calls (each one fsync)
	PersistedEnts uint64 // entries made durable
	Snapshots     uint64 // local snapshots taken
	Installed     uint64 // received snapshots installed
	IgnoredSnaps  uint64 // received snapshots the core did not take
}

// Handler processes a raft.Node's Readys. See the package doc for its
// threading rules and invariants.
type Handler struct {
	cfg  Config
	id   raft.NodeID
	node *raft.Node
	deps Deps
	log  *slog.Logger

	// addrs maps peers to transport addresses, from every configuration the
	// node has seen; entries are never removed so that a server removed from
	// the configuration can still be told so.
	addrs map[raft.NodeID]string
	soft  raft.SoftState

	// persistQ holds disk work not yet submitted; persisting is true while
	// one disk job (or a snapshot install sequence) is in flight.
	persistQ   []persistItem
	persisting bool
	// diskHS is the last HardState handed to the disk; lazyHS a newer one
	// differing only in Commit, acknowledged without a write and carried by
	// the next Append (Commit may be persisted lazily).
	diskHS, lazyHS raft.HardState

	// applied is the last index whose apply job completed (Node.Applied
	// called). Invariant: applied <= the index of the last submitted apply.
	applied raft.Index
	// applyState belongs to the apply worker (see apply.go).
	applyState *applyState

	// proposals are the pending futures of proposals, by index; each
	// future's Term is its entry's.
	proposals map[raft.Index]*Future
	reads     readTracker

	// lastSnapIndex is the index of the newest snapshot file; snapshotting
	// is true while a local snapshot is being captured or written.
	lastSnapIndex raft.Index
	snapshotting  bool
	// staged is a received snapshot waiting for the core's Ready.Snapshot.
	staged *stagedSnapshot

	// decoder decodes received payloads (Receive owns them: no copy).
	decoder raft.Decoder

	ticks      uint64
	advancing  bool
	batchDepth int
	stopped    bool
	stats      Stats
	contact    leaderContact // see lastcontact.go
}

// ID returns the node's ID.
func (h *Handler) ID() raft.NodeID { return h.id }

// Stats returns the counters.
func (h *Handler) Stats() Stats { return h.stats }

// Stopped reports whether the handler stopped (Stop or a fatal error).
func (h *Handler) Stopped() bool { return h.stopped }

// Status returns the core's status with the driver's applied index.
func (h *Handler) Status() raft.Status {
	s := h.node.Status()
	s.Applied = h.applied
	return s
}

// Tick advances logical time by one tick.
func (h *Handler) Tick() {
	if h.stopped {
		return
	}
	h.ticks++
	h.node.Tick()
	h.reads.expire(h.ticks)
	h.advance()
}

// Receive steps one encoded message. Bad input is counted and dropped.
// The handler takes payload over: the decoded entries alias it, so the
// caller must not modify it afterwards (delivering it again is fine).
func (h *Handler) Receive(payload []byte) {
	if h.stopped {
		return
	}
	m, err := h.decoder.Decode(payload)
	if err != nil {
		h.stats.BadMessages++
		h.log.Debug("driver: dropping undecodable message", "err", err)
		return
	}
	h.step(m)
}

// step hands m to the core; errors are counted, never fatal.
func (h *Handler) step(m raft.Message) {
	err := h.node.Step(m)
	if err != nil {
		h.stats.StepErrors++
		h.log.Debug("driver: step", "type", m.Type, "from", m.From, "err", err)
	}
	h.advance()
	if err == nil {
		h.noteContact(m) // after advance: h.soft names the leader m may come from
	}
}

// ReportUnreachable tells the core that a message to id could not be sent.
func (h *Handler) ReportUnreachable(id raft.NodeID) {
	if h.stopped {
		return
	}
	h.node.ReportUnreachable(id)
	h.advance()
}

// Propose proposes data. The future resolves when the entry is applied
// here (Committed, or Failed if another term's entry took its index), when
// leadership is lost first or the handler stops (Unknown), or at once if
// the core rejects it (Failed with the core's error, e.g. raft.ErrNotLeader).
func (h *Handler) Propose(data []byte) *Future {
	return h.propose(func() (raft.Index, raft.Term, error) { return h.node.Propose(data) })
}

// ProposeConfChange proposes a membership change; it resolves like Propose
// (Result is nil).
func (h *Handler) ProposeConfChange(cc raft.ConfChange) *Future {
	return h.propose(func() (raft.Index, raft.Term, error) { return h.node.ProposeConfChange(cc) })
}

// proposeInto proposes data and resolves f like Propose (Driver creates
// the future on the proposer's goroutine).
func (h *Handler) proposeInto(f *Future, data []byte) {
	h.proposeFuture(f, func() (raft.Index, raft.Term, error) { return h.node.Propose(data) })
}

func (h *Handler) propose(fn func() (raft.Index, raft.Term, error)) *Future {
	f := newFuture()
	h.proposeFuture(f, fn)
	return f
}

func (h *Handler) proposeFuture(f *Future, fn func() (raft.Index, raft.Term, error)) {
	if h.stopped {
		f.resolve(Unknown, nil, ErrStopped)
		return
	}
	idx, term, err := fn()
	if err != nil {
		f.resolve(Failed, nil, err)
		return
	}
	f.Index, f.Term = idx, term
	if old := h.proposals[idx]; old != nil {
		// The core reused an index we track: our earlier entry there was
		// overwritten (we lost and regained leadership unnoticed).
		old.settle(Failed, nil, ErrProposalFailed)
	}
	h.proposals[idx] = f
	h.advance()
}

// ReadIndex starts a linearizable read. The future resolves (Committed,
// Index = read index) once this node applied the read index; Failed if the
// core refused it or after ReadTimeoutTicks.
func (h *Handler) ReadIndex() *Future {
	f := newFuture()
	if h.stopped {
		f.resolve(Unknown, nil, ErrStopped)
		return f
	}
	ctx := binary.BigEndian.AppendUint64(nil, h.reads.nextID())
	if err := h.node.ReadIndex(ctx); err != nil {
		f.resolve(Failed, nil, err)
		return f
	}
	h.reads.add(ctx, f, h.ticks+uint64(h.cfg.readTimeoutTicks()))
	h.advance()
	return f
}

// TransferLeadership asks the leader to hand leadership to id.
func (h *Handler) TransferLeadership(id raft.NodeID) error {
	if h.stopped {
		return ErrStopped
	}
	err := h.node.TransferLeadership(id)
	h.advance()
	return err
}

// Campaign starts an election now (tests, single-node clusters).
func (h *Handler) Campaign() error {
	if h.stopped {
		return ErrStopped
	}
	err := h.node.Campaign()
	h.advance()
	return err
}

// Batch runs fn, which may call several inputs, and takes the Readys once
// afterwards, so that e.g. many proposals share one Ready and one MsgApp.
func (h *Handler) Batch(fn func()) {
	h.batchDepth++
	fn()
	h.batchDepth--
	h.advance()
}

// Stop resolves every pending future as Unknown (ErrStopped) and ignores
// all further input and worker completions. Work already submitted still
// runs; the caller waits for its workers before closing the stores.
func (h *Handler) Stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	h.resolveProposals(func(raft.Index) bool { return true }, Unknown, ErrStopped)
	h.reads.failAll(Unknown, ErrStopped)
	if h.staged != nil {
		h.discardStaged(h.staged)
		h.staged = nil
	}
}

// fatal stops the handler after a storage write error and reports it.
func (h *Handler) fatal(err error) {
	if h.stopped {
		return
	}
	h.log.Error("driver: fatal storage error", "id", h.id, "err", err)
	h.Stop()
	if h.cfg.OnFatal == nil {
		panic(fmt.Sprintf("driver: %s: fatal storage error and no OnFatal: %v", h.id, err))
	}
	h.cfg.OnFatal(err)
}

// advance takes and handles Readys until the core has none, then starts
// the next disk job. Disk jobs start only here, after every Ready of the
// inputs at hand was queued, so that one fsync covers them all (greedy
// group commit). Re-entrant calls (a synchronous Worker calling done inside
// Submit) return at once; the outer loop picks their Readys up.
func (h *Handler) advance() {
	if h.advancing || h.batchDepth > 0 {
		return
	}
	h.advancing = true
	defer func() { h.advancing = false }()
	for !h.stopped {
		if h.node.HasReady() {
			h.handleReady(h.node.Ready())
			continue
		}
		if !h.pumpPersist() {
			return
		}
	}
}

func (h *Handler) handleReady(rd raft.Ready) {
	if rd.SoftState != nil {
		h.onSoftState(*rd.SoftState)
	}
	if rd.Snapshot != nil || hasConfigEntry(rd.Entries) {
		h.refreshAddrs()
	}
	h.sendAll(rd.Messages)
	if rd.Snapshot != nil {
		h.queueInstall(rd)
	} else if rd.MustPersist() || len(rd.MessagesAfterPersist) > 0 {
		h.queuePersist(rd)
	}
	if len(rd.CommittedEntries) > 0 {
		h.submitApply(rd.CommittedEntries)
	}
	if len(rd.ReadStates) > 0 {
		h.reads.answered(rd.ReadStates, h.applied)
	}
}

func (h *Handler) onSoftState(s raft.SoftState) {
	wasLeader := h.soft.Role == raft.Leader
	h.soft = s
	if wasLeader && s.Role != raft.Leader {
		// Our entries may still commit under the next leader, or not.
		h.resolveProposals(func(raft.Index) bool { return true }, Unknown, ErrLeadershipLost)
		h.reads.failAll(Unknown, ErrLeadershipLost)
	}
	if h.cfg.OnSoftState != nil {
		h.cfg.OnSoftState(s)
	}
}

func hasConfigEntry(ents []raft.Entry) bool {
	for i := range ents {
		if ents[i].Type == raft.EntryConfig {
			return true
		}
	}
	return false
}

// LearnAddr tells the handler a peer's transport address before any
// configuration it holds names the peer: a server joining with an empty
// log must answer a leader it only knows from discovery (Serf, a join
// list). Addresses from configurations override it later.
func (h *Handler) LearnAddr(id raft.NodeID, addr string) {
	if _, ok := h.addrs[id]; !ok {
		h.addrs[id] = addr
	}
}

// refreshAddrs learns addresses from the node's latest configuration.
func (h *Handler) refreshAddrs() {
	for _, s := range h.node.Status().Configuration.Servers {
		h.addrs[s.ID] = s.Address
	}
}

func (h *Handler) sendAll(msgs []raft.Message) {
	for i := range msgs {
		h.send(&msgs[i])
	}
}

func (h *Handler) send(m *raft.Message) {
	addr, ok := h.addrs[m.To]
	if !ok {
		h.log.Debug("driver: no address for peer", "to", m.To, "type", m.Type)
		h.node.ReportUnreachable(m.To)
		return
	}
	if h.cfg.Tracer != nil {
		h.cfg.Tracer.TraceSend(m)
	}
	if m.Type == raft.MsgSnap {
		h.sendSnapshot(m, addr)
		return
	}
	h.deps.Transport.Send(m.To, addr, raft.EncodeMessage(m), m.IsPriority())
}
