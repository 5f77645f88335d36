package jepsen

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/raft"
)

// node is one Raft member on a simulated host: the process state (core,
// state machine, pending client requests), rebuilt from the host's disk on
// every restart.
type node struct {
	c    *cluster
	id   raft.NodeID
	addr string
	host *world.Host

	// Durable state: survives crashes (the host's disk).
	disk *simDisk

	// Process state: nil/empty while down.
	rn        *raft.Node
	fsm       *kv.Store
	appliedTo raft.Index
	conf      raft.Configuration // configuration as of appliedTo
	confIndex raft.Index
	role      raft.Role
	curTerm   raft.Term
	lead      raft.NodeID
	proposals map[raft.Index]proposal
	reads     map[uint64]*readReq
	readSeq   uint64
	waiting   []*readReq // ReadStates not yet applied
	staged    map[raft.Index][]byte
	snapping  bool // a local snapshot is queued on the disk

	joined  bool // a committed configuration named it
	removed bool // removed from the configuration: stopped for good

	crashOnWrite bool // the nemesis crashes the node during its next disk write
	cfg          raft.Config
}

type proposal struct {
	term  raft.Term
	reply func(outcome, kv.Result, raft.NodeID)
	conf  *raft.ConfChange
}

type readReq struct {
	key   string
	index raft.Index
	ready bool
	reply func(outcome, kv.Result, raft.NodeID)
}

func (n *node) running() bool { return n.rn != nil && n.host.Up() }

func (n *node) isLeader() bool { return n.rn != nil && n.role == raft.Leader }

func (n *node) term() raft.Term { return n.curTerm }

func (n *node) applied() raft.Index { return n.appliedTo }

func (n *node) storeHash() uint64 { return n.fsm.Hash() }

func (n *node) bootstrap(conf raft.Configuration) {
	n.disk = newSimDisk(n.host)
	hs, ents := raft.BootstrapEntries(conf)
	if err := n.disk.log.Append(hs, ents); err != nil {
		panic(err)
	}
}

func (n *node) raftConfig() raft.Config {
	cfg := raft.SimConfig(n.id, n.c.raftRandFor())
	cfg.MaxMsgBytes = 16 << 10
	cfg.MaxInflightMsgs = 16
	cfg.CatchUpEntries = 20
	cfg.AutoPromote = n.c.swarm.AutoPromote
	return cfg
}

// start builds the process from the disk: the core, the state machine
// restored from the latest snapshot, tick timer and network handlers.
func (n *node) start() {
	if n.disk == nil {
		n.disk = newSimDisk(n.host) // a new member: empty disk
	}
	if err := n.disk.reopen(); err != nil {
		n.c.check.Fail("durability", "%s: reopen disk: %v", n.id, err)
		return
	}
	n.c.check.Restarted(n.id, n.disk.log)
	n.cfg = n.raftConfig()
	rn, err := raft.NewNode(n.cfg, n.disk.log)
	if err != nil {
		n.c.check.Fail("durability", "%s: restart: %v", n.id, err)
		return
	}
	n.rn = rn
	n.fsm = kv.NewStore()
	snap := n.disk.log.Snapshot()
	n.appliedTo, n.conf, n.confIndex = snap.Index, snap.Configuration, snap.ConfigIndex
	if !snap.IsEmpty() {
		data, err := n.disk.loadSnapshot(snap.Index)
		if err == nil {
			err = n.fsm.Restore(data)
		}
		if err != nil {
			n.c.check.Fail("durability", "%s: snapshot %d unreadable after restart: %v", n.id, snap.Index, err)
			return
		}
	}
	n.role, n.lead, n.curTerm = raft.Follower, raft.None, rn.Status().HardState.Term
	n.proposals = map[raft.Index]proposal{}
	n.reads = map[uint64]*readReq{}
	n.waiting = nil
	n.staged = map[raft.Index][]byte{}
	n.snapping = false
	n.host.OnDatagram(n.receive)
	n.host.OnStream(n.acceptSnapshot)
	n.scheduleTick()
	n.c.w.Tracef("%s start term=%d snap=%d last=%d", n.id, rn.Status().HardState.Term, snap.Index, n.disk.log.LastIndex())
	n.process()
}

// stop drops the process (the host is crashing or the node was removed).
// Pending client requests never hear back: their outcome is unknown.
func (n *node) stop() {
	n.rn = nil
	n.fsm = nil
	n.proposals, n.reads, n.waiting, n.staged = nil, nil, nil, nil
}

func (n *node) scheduleTick() {
	epoch := n.host.Epoch()
	n.host.Clock().AfterFunc(n.cfg.TickInterval, func() {
		if n.rn == nil || n.host.Epoch() != epoch {
			return
		}
		n.rn.Tick()
		n.process()
		n.scheduleTick()
	})
}

func (n *node) receive(from string, b []byte) {
	if n.rn == nil {
		return
	}
	m, err := raft.DecodeMessage(b)
	if err != nil {
		n.c.w.Tracef("%s drop undecodable from %s: %v", n.id, from, err)
		return
	}
	if n.c.w.Tracing() {
		n.c.w.Tracef("deliver %s->%s %v term=%d logterm=%d index=%d commit=%d ents=%d reject=%v", m.From, m.To, m.Type, m.Term, m.LogTerm, m.Index, m.Commit, len(m.Entries), m.Reject)
	}
	if err := n.rn.Step(m); err != nil { // bad input is dropped by the core
		n.c.w.Tracef("%s step error: %v", n.id, err)
	}
	n.process()
}

// process drains the core's Readys, in the order ready.go prescribes.
func (n *node) process() {
	for n.rn != nil && n.rn.HasReady() {
		rd := n.rn.Ready()
		n.handleReady(rd)
	}
}

func (n *node) handleReady(rd raft.Ready) {
	termChanged := false
	if !rd.HardState.IsEmpty() && rd.HardState.Term != n.curTerm {
		n.curTerm, termChanged = rd.HardState.Term, true
	}
	if ss := rd.SoftState; ss != nil {
		wasLeader := n.role == raft.Leader
		n.role, n.lead = ss.Role, ss.Lead
		n.c.w.Tracef("%s role %v term=%d lead=%s", n.id, ss.Role, n.curTerm, ss.Lead)
		n.c.observeRole(n, ss.Role, n.curTerm)
		if wasLeader && ss.Role != raft.Leader {
			n.loseLeadership()
		}
	} else if termChanged && n.role == raft.Candidate {
		n.c.observeRole(n, raft.Candidate, n.curTerm)
	}
	for i := range rd.Messages {
		n.send(&rd.Messages[i])
	}
	if rd.MustPersist() || len(rd.MessagesAfterPersist) > 0 {
		epoch := n.host.Epoch()
		n.c.writeSubmitted(n)
		n.host.Disk(func() {
			if n.rn == nil || n.host.Epoch() != epoch {
				return
			}
			n.persist(rd)
			n.process()
		})
	}
	n.apply(rd.CommittedEntries)
	for _, rs := range rd.ReadStates {
		id := binary.BigEndian.Uint64(rs.Context)
		if r := n.reads[id]; r != nil {
			r.index, r.ready = rs.Index, true
			n.waiting = append(n.waiting, r)
			delete(n.reads, id)
		}
	}
	n.serveReads()
}

// persist is the disk half of a Ready: snapshot install, log append, then
// the messages that vouch for them.
func (n *node) persist(rd raft.Ready) {
	if rd.Snapshot != nil {
		meta := *rd.Snapshot
		data, ok := n.staged[meta.Index]
		if !ok {
			n.c.check.Fail("internal-error", "%s: snapshot %d to install was never staged", n.id, meta.Index)
			return
		}
		if err := n.disk.saveSnapshot(meta.Index, data); err != nil {
			panic(err)
		}
		if err := n.fsm.Restore(data); err != nil {
			n.c.check.Fail("internal-error", "%s: restore snapshot %d: %v", n.id, meta.Index, err)
			return
		}
		if err := n.disk.log.ApplySnapshot(meta); err != nil {
			panic(fmt.Sprintf("%s: apply snapshot: %v", n.id, err))
		}
		n.appliedTo, n.conf, n.confIndex = meta.Index, meta.Configuration, meta.ConfigIndex
		n.c.stats.SnapshotInstall++
		n.c.check.SnapshotInstalled(n.id, meta)
		n.c.w.Tracef("%s install snapshot index=%d term=%d", n.id, meta.Index, meta.Term)
		delete(n.staged, meta.Index)
	}
	if !rd.HardState.IsEmpty() || len(rd.Entries) > 0 {
		if err := n.disk.log.Append(rd.HardState, rd.Entries); err != nil {
			panic(fmt.Sprintf("%s: append: %v", n.id, err))
		}
		if n.c.w.Tracing() {
			first, last := raft.Index(0), raft.Index(0)
			if k := len(rd.Entries); k > 0 {
				first, last = rd.Entries[0].Index, rd.Entries[k-1].Index
			}
			n.c.w.Tracef("%s persist hs=%+v ents=[%d,%d]", n.id, rd.HardState, first, last)
		}
		n.c.check.Persisted(n.id, rd.HardState, rd.Entries, n.disk.log, n.role == raft.Leader, n.curTerm)
	}
	for i := range rd.MessagesAfterPersist {
		n.send(&rd.MessagesAfterPersist[i])
	}
	if rd.MustPersist() {
		n.rn.Persisted(rd.Persist)
	}
}

func (n *node) send(m *raft.Message) {
	if m.Type == raft.MsgSnap {
		n.sendSnapshot(m)
		return
	}
	to := n.c.byID[m.To]
	if to == nil {
		return
	}
	n.host.Send(to.addr, raft.EncodeMessage(m))
}

// apply applies committed entries to the state machine, answers the
// proposals they resolve, and maybe takes a local snapshot.
func (n *node) apply(ents []raft.Entry) {
	if len(ents) == 0 {
		return
	}
	for i := range ents {
		e := &ents[i]
		if e.Index <= n.appliedTo {
			continue // covered by an installed snapshot
		}
		var res kv.Result
		switch e.Type {
		case raft.EntryNormal:
			cmd, err := kv.Decode(e.Data)
			if err != nil {
				n.c.check.Fail("internal-error", "%s: undecodable entry %d: %v", n.id, e.Index, err)
				return
			}
			res = n.fsm.Apply(cmd)
		case raft.EntryConfig:
			conf, err := raft.DecodeConfiguration(e.Data)
			if err != nil {
				n.c.check.Fail("internal-error", "%s: undecodable config %d: %v", n.id, e.Index, err)
				return
			}
			n.conf, n.confIndex = conf, e.Index
		}
		n.appliedTo = e.Index
		n.c.check.Applied(n.id, e, n.curTerm)
		if n.c.w.Tracing() {
			n.c.w.Tracef("%s apply index=%d term=%d type=%v", n.id, e.Index, e.Term, e.Type)
		}
		n.c.observeApply(n, e)
		if p, ok := n.proposals[e.Index]; ok {
			delete(n.proposals, e.Index)
			if p.term == e.Term {
				p.reply(outcomeOK, res, "")
			} else {
				p.reply(outcomeFailed, kv.Result{}, "")
			}
		}
	}
	n.rn.Applied(n.appliedTo)
	n.serveReads()
	n.maybeSnapshot()
}

func (n *node) serveReads() {
	k := 0
	for _, r := range n.waiting {
		if r.index <= n.appliedTo {
			r.reply(outcomeOK, n.fsm.Get(r.key), "")
			continue
		}
		n.waiting[k] = r
		k++
	}
	n.waiting = n.waiting[:k]
}

// loseLeadership resolves what the node promised as leader: proposals may
// still commit (unknown); reads did nothing (failed).
func (n *node) loseLeadership() {
	// Map order is random: answer in index / request order.
	for _, idx := range slices.Sorted(maps.Keys(n.proposals)) {
		n.proposals[idx].reply(outcomeUnknown, kv.Result{}, n.lead)
	}
	clear(n.proposals)
	for _, id := range slices.Sorted(maps.Keys(n.reads)) {
		n.reads[id].reply(outcomeFailed, kv.Result{}, n.lead)
	}
	clear(n.reads)
	for _, r := range n.waiting {
		r.reply(outcomeFailed, kv.Result{}, n.lead)
	}
	n.waiting = nil
}

// propose handles a client write on this node.
func (n *node) propose(cmd kv.Command, reply func(outcome, kv.Result, raft.NodeID)) {
	if n.rn == nil {
		return
	}
	if n.role != raft.Leader {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	idx, term, err := n.rn.Propose(cmd.Encode())
	if err != nil {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	n.proposals[idx] = proposal{term: term, reply: reply}
	n.process()
}

// read handles a client get: a ReadIndex round, then the local state
// machine once it has applied the read index.
func (n *node) read(key string, reply func(outcome, kv.Result, raft.NodeID)) {
	if n.rn == nil {
		return
	}
	if n.role != raft.Leader {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	n.readSeq++
	ctx := binary.BigEndian.AppendUint64(nil, n.readSeq)
	if err := n.rn.ReadIndex(ctx); err != nil {
		reply(outcomeFailed, kv.Result{}, n.lead)
		return
	}
	n.reads[n.readSeq] = &readReq{key: key, reply: reply}
	n.process()
}

var _ = time.Second
