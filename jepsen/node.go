package jepsen

import (
	"errors"
	"fmt"

	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/wal"
)

// node is one Raft member on a simulated host. Its process is the
// production Ready-handling code, driver.Handler, over the real wal.Log and
// wal.SnapshotStore on the host's vfs.Mem disk, with simulated workers
// (simio.go) and transport (transport.go). Everything of the process is
// rebuilt from the disk on every restart.
type node struct {
	starts int // processes started, for driver.Config.ReadContextBase
	c      *cluster
	id     raft.NodeID
	addr   string
	host   *world.Host

	bootConf *raft.Configuration // written to the empty log at first start

	// Process state: nil while down.
	h     *driver.Handler
	log   *wal.Log
	snaps *wal.SnapshotStore
	fsm   *kvFSM
	diskW *simWorker // the handler's disk worker

	sendDec raft.Decoder // decodes what the node sends, for the checkers

	role       raft.Role
	lead       raft.NodeID
	leaderTerm raft.Term // the term this node leads, while role == Leader

	// Election-timed isolation (isolate.go): the commit index when it last
	// became leader, the last leader term in which its commit moved, a
	// count of its isolations (a heal only ends the latest), and whether
	// it is isolated now (clients cannot reach it either).
	commitAtElection raft.Index
	commitMovedTerm  raft.Term
	isolations       int
	cutOff           bool

	// A write that truncated the log, carried a configuration entry or
	// installed a snapshot reached the disk: the core's configuration is
	// due a comparison with the log's (confcheck.go).
	confCheckDue bool

	joined  bool // a committed configuration named it
	removed bool // removed from the configuration: stopped for good

	// Disk faults (disk.go): the nemesis arms a power loss at the
	// syncArm-th next fsync; once dying, every write and sync fails
	// until the host crashes. fullArm fails the next write with ENOSPC.
	syncArm  int
	armKind  string
	dying    bool
	fullArm  bool
	diskFull bool
}

func (n *node) running() bool { return n.h != nil && n.host.Up() }

func (n *node) isLeader() bool { return n.h != nil && n.role == raft.Leader }

// term is the node's current term (0 while down).
func (n *node) term() raft.Term {
	if n.h == nil {
		return 0
	}
	if n.role == raft.Leader {
		return n.leaderTerm
	}
	return n.h.Status().HardState.Term
}

// voters lists the voters of the node's configuration (its latest, in
// force from its append on).
func (n *node) voters() []raft.NodeID { return votersOf(n.h.Status().Configuration) }

func votersOf(conf raft.Configuration) []raft.NodeID {
	var v []raft.NodeID
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			v = append(v, s.ID)
		}
	}
	return v
}

func (n *node) applied() raft.Index { return n.h.Status().Applied }

func (n *node) storeHash() uint64 { return n.fsm.store.Hash() }

func (n *node) bootstrap(conf raft.Configuration) { n.bootConf = &conf }

func (n *node) config() driver.Config {
	rc := raft.SimConfig(n.id, n.c.raftRandFor())
	s := &n.c.swarm
	rc.MaxMsgBytes = s.MaxMsgBytes
	rc.MaxInflightMsgs = s.MaxInflightMsgs
	if s.MaxInflightBytes != 0 {
		rc.MaxInflightBytes = s.MaxInflightBytes // else SimConfig's 32 MiB, never reached
	}
	rc.CatchUpEntries = 20
	rc.AutoPromote = s.AutoPromote
	rc.ElectionTicks = s.ElectionTicks
	rc.PreVote, rc.CheckQuorum = s.PreVote, s.CheckQuorum
	rc.ApplyBeforeLocalDurable = s.SegmentBytes%3 == 0 // a third of the seeds, keyed off an existing draw so that no seed's swarm shifts
	cfg := driver.DefaultConfig(rc)
	cfg.SnapshotThreshold = raft.Index(s.SnapshotEvery)
	cfg.TrailingLogs = raft.Index(s.TrailingLogs)
	cfg.OnFatal = n.onFatal
	cfg.OnSoftState = n.onSoftState
	cfg.Tracer = tracer{n}
	cfg.ReadContextBase = uint64(n.starts) << 32 // distinct per incarnation
	return cfg
}

// start builds the process from the disk: the WAL and snapshot store are
// recovered, the durability checker compares them with what the node had
// made durable, and driver.New restores the state machine.
func (n *node) start() {
	n.dying, n.syncArm, n.fullArm, n.diskFull = false, 0, false, false
	n.starts++
	if err := n.openDisk(); err != nil {
		if n.dying { // power lost again during recovery
			n.powerLoss()
			return
		}
		n.c.check.Fail("durability", "%s: reopen disk: %v", n.id, err)
		return
	}
	if n.bootConf != nil {
		if err := driver.Bootstrap(n.log, *n.bootConf); err != nil {
			panic(fmt.Sprintf("%s: bootstrap: %v", n.id, err))
		}
		n.bootConf = nil
	}
	n.c.check.Restarted(n.id, n.log)
	if n.starts > 1 {
		n.probeBitRot()
	}
	n.c.check.ConfigEntries(n.id, 0, n.confEntries())
	n.fsm = newKVFSM(n)
	n.role, n.lead, n.leaderTerm = raft.Follower, raft.None, 0
	n.diskW = &simWorker{n: n, disk: true}
	h, err := driver.New(n.config(), driver.Deps{
		Log: checkedLog{n.log, n}, Snapshots: driver.WALSnapshots(n.snaps), FSM: n.fsm,
		Transport: transport{n},
		Disk:      n.diskW,
		Apply:     &simWorker{n: n},
		Snap:      &simWorker{n: n, disk: true},
	})
	if err != nil {
		if n.dying {
			n.powerLoss()
			return
		}
		n.c.check.Fail("durability", "%s: restart: %v", n.id, err)
		return
	}
	n.h = h
	for _, m := range n.c.nodes {
		// Discovery (Serf, in Consul) tells a joining server its peers.
		h.LearnAddr(m.id, m.addr)
	}
	if snap := n.log.Snapshot(); !snap.IsEmpty() {
		// driver.New restored the newest snapshot file, possibly newer than
		// the log's record of it (a crash between the two).
		n.c.check.SnapshotInstalled(n.id, snap)
	}
	n.c.check.LogShape(n.id, n.log) // as recovered, and brought to the snapshot file by driver.New
	n.checkConfigMatchesLog(true)   // the configuration rebuilt from the disk
	n.host.OnDatagram(n.receive)
	n.host.OnStream(n.acceptSnapshot)
	n.scheduleTick()
	n.c.w.Tracef("%s start term=%d snap=%d last=%d applied=%d", n.id, h.Status().HardState.Term, n.log.Snapshot().Index, n.log.LastIndex(), h.Status().Applied)
}

// stop drops the process (the host is crashing or the node was removed).
// Pending client requests never hear back: their outcome is unknown.
func (n *node) stop() {
	n.h, n.log, n.snaps, n.fsm = nil, nil, nil, nil
	n.role = raft.Follower
}

// onFatal: a storage write failed. An injected power loss or full disk
// crashes the node; anything else is a bug in the code under test.
func (n *node) onFatal(err error) {
	switch {
	case n.dying:
		n.powerLoss()
	case n.diskFull && errors.Is(err, errDiskFull):
		n.c.w.Tracef("%s fatal: %v", n.id, err)
		n.c.crashProcess(n, FaultDiskFull)
	default:
		n.c.check.Fail("internal-error", "%s: fatal storage error: %v", n.id, err)
	}
}

func (n *node) onSoftState(s raft.SoftState) {
	wasLeader := n.role == raft.Leader
	n.role, n.lead = s.Role, s.Lead
	term := n.h.Status().HardState.Term
	if s.Role == raft.Leader && !wasLeader {
		n.leaderTerm = term
	}
	n.c.w.Tracef("%s role %v term=%d lead=%s", n.id, s.Role, term, s.Lead)
	n.c.observeRole(n, s.Role, term)
}

func (n *node) scheduleTick() {
	h := n.h
	n.host.Clock().AfterFunc(n.c.swarm.TickInterval, func() {
		if n.h != h {
			return
		}
		h.Tick()
		n.scheduleTick()
	})
}

func (n *node) receive(from string, b []byte) {
	if n.h == nil {
		return
	}
	if n.c.w.Tracing() {
		if m, err := raft.DecodeMessage(b); err == nil {
			n.c.w.Tracef("deliver %s->%s %v term=%d logterm=%d index=%d commit=%d ents=%d reject=%v", m.From, m.To, m.Type, m.Term, m.LogTerm, m.Index, m.Commit, len(m.Entries), m.Reject)
		}
	}
	n.h.Receive(b)
}

// propose handles a client write on this node.
func (n *node) propose(cmd kv.Command, reply func(outcome, kv.Result, raft.NodeID)) {
	if n.h == nil {
		return
	}
	if n.role != raft.Leader {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	n.h.Propose(cmd.Encode()).OnResolve(func(f *driver.Future) {
		switch f.Outcome() {
		case driver.Committed:
			res, _ := f.Result().(kv.Result)
			reply(outcomeOK, res, "")
		case driver.Failed:
			reply(outcomeFailed, kv.Result{}, n.lead)
		default:
			reply(outcomeUnknown, kv.Result{}, n.lead)
		}
	})
}

// read handles a client get: a ReadIndex round, then the local state
// machine once it has applied the read index (the future resolves then,
// on the event loop, so the store is exactly at the applied index). Only
// the leader serves a get, unless anyRole: then a follower serves it too,
// the core forwarding the ReadIndex request to its leader and the driver
// waiting for the follower's own apply (followerread.go).
func (n *node) read(key string, anyRole bool, reply func(outcome, kv.Result, raft.NodeID)) {
	if n.h == nil {
		return
	}
	if n.role != raft.Leader && !anyRole {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	fsm := n.fsm
	h := n.h
	floor := n.c.check.MaxApplied()
	h.ReadIndex().OnResolve(func(f *driver.Future) {
		if f.Outcome() == driver.Committed {
			n.checkReadIndex(h, f.Index, floor)
			reply(outcomeOK, fsm.store.Get(key), "")
			return
		}
		reply(outcomeFailed, kv.Result{}, n.lead)
	})
}

// checkReadIndex judges the index a served read reports (driver.Future's
// Index): an entry applied anywhere before the read was issued is
// committed, and a leader answers ReadIndex only after committing an entry
// of its term, so its commit index, the read index, covers that entry
// (floor); and the read is served once the local apply reached it. A
// wrong index does not always show as a wrong value (the key may not have
// changed in between), so it is checked directly.
func (n *node) checkReadIndex(h *driver.Handler, idx, floor raft.Index) {
	if applied := h.Status().Applied; idx < floor || idx > applied {
		n.c.check.Fail(check.ReadIndex, "%s: read served at read index %d, but index %d was applied somewhere before it was issued and %d is applied here",
			n.id, idx, floor, applied)
	}
}

// tracer feeds the driver's observations to the trace and the checkers.
type tracer struct{ n *node }

func (t tracer) TracePersist(id raft.NodeID, hs raft.HardState, first, last raft.Index, snap raft.Index) {
	n := t.n
	c := n.c
	if c.w.Tracing() { // boxing the arguments costs even when not tracing
		c.w.Tracef("%s persist hs=%+v ents=[%d,%d] snap=%d", id, hs, first, last, snap)
	}
	if snap != 0 {
		c.stats.SnapshotInstall++
		c.check.SnapshotInstalled(id, n.log.Snapshot())
		c.check.LogShape(id, n.log)
	}
	var ents []raft.Entry
	if first <= last {
		var err error
		ents, err = n.log.Entries(first, last+1, 1<<62)
		if err != nil || len(ents) != int(last-first+1) {
			c.check.Fail("durability", "%s: entries [%d,%d] reported durable but unreadable: %d, %v", id, first, last, len(ents), err)
			return
		}
	}
	c.check.Persisted(id, hs, ents, n.log, n.role == raft.Leader, n.leaderTerm)
	c.check.CommittedAtLeast(hs.Commit)
	switch {
	case snap != 0:
		c.check.ConfigEntries(id, 0, n.confEntries())
	case len(ents) > 0:
		c.check.ConfigEntries(id, first, confIndexes(ents))
	}
	n.checkConfigTerms(ents)
	if n.confCheckDue {
		n.checkConfigMatchesLog(false)
	}
}

func (t tracer) TraceApply(id raft.NodeID, applied *raft.Entry) {
	n := t.n
	c := n.c
	index, term := applied.Index, applied.Term
	e, ok := n.fsm.take(index)
	if !ok {
		e = *applied // not necessarily in the WAL yet: raft.Config.ApplyBeforeLocalDurable
	}
	if c.w.Tracing() {
		c.w.Tracef("%s apply index=%d term=%d type=%v", id, index, term, e.Type)
	}
	if _, seen := c.check.AppliedTerm(index); !seen {
		c.checkCommittedDurable(n, &e)
	}
	c.check.Applied(id, &e, func() raft.Term { return n.h.Status().HardState.Term })
	c.observeApply(n, &e)
	c.leaderApplied(n, index)
}

func (t tracer) TraceSend(m *raft.Message) {
	n := t.n
	if n.c.w.Tracing() {
		n.c.w.Tracef("send %s->%s %v term=%d logterm=%d index=%d commit=%d ents=%d reject=%v", m.From, m.To, m.Type, m.Term, m.LogTerm, m.Index, m.Commit, len(m.Entries), m.Reject)
	}
	if m.Type == raft.MsgApp || m.Type == raft.MsgHeartbeat {
		n.c.check.CommittedAtLeast(m.Commit)
	}
	n.c.sent(n, m)
}
