package driver_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
)

// sent is one message the fake transport saw.
type sent struct {
	msg  raft.Message
	snap bool
}

// fakeTransport records sends; snapshot streams complete when the test
// calls finish.
type fakeTransport struct {
	sent    []sent
	pending []func(bool)
	// onSend, if set, observes each send as it happens.
	onSend func(raft.Message)
}

func (t *fakeTransport) Send(to raft.NodeID, addr string, payload []byte, priority bool) {
	m, err := raft.DecodeMessage(payload)
	if err != nil {
		panic(err)
	}
	if priority != m.IsPriority() || addr != "addr-"+string(to) {
		panic(fmt.Sprintf("bad send of %v to %s at %s, priority %v", m.Type, to, addr, priority))
	}
	t.sent = append(t.sent, sent{msg: m})
	if t.onSend != nil {
		t.onSend(m)
	}
}

func (t *fakeTransport) SendSnapshot(to raft.NodeID, addr string, m raft.Message, open func() (io.ReadCloser, error), done func(bool)) {
	t.sent = append(t.sent, sent{msg: m, snap: true})
	t.pending = append(t.pending, done)
}

func (t *fakeTransport) ofType(typ raft.MessageType) []raft.Message {
	var out []raft.Message
	for _, s := range t.sent {
		if s.msg.Type == typ {
			out = append(out, s.msg)
		}
	}
	return out
}

// traceLog records Tracer calls in order.
type traceLog struct{ lines []string }

func (l *traceLog) TracePersist(id raft.NodeID, hs raft.HardState, first, last, snap raft.Index) {
	l.lines = append(l.lines, fmt.Sprintf("persist %s term=%d vote=%q commit=%d [%d,%d] snap=%d", id, hs.Term, hs.Vote, hs.Commit, first, last, snap))
}
func (l *traceLog) TraceApply(id raft.NodeID, e *raft.Entry) {
	l.lines = append(l.lines, fmt.Sprintf("apply %s %d/%d", id, e.Index, e.Term))
}
func (l *traceLog) TraceSend(m *raft.Message) {
	l.lines = append(l.lines, fmt.Sprintf("send %v %s->%s", m.Type, m.From, m.To))
}

// testLog wraps MemLog to count and fail appends.
type testLog struct {
	drivertest.MemLog
	appends    int
	appendLens []int // entries per Append
	failErr    error
}

func (l *testLog) Append(hs raft.HardState, ents []raft.Entry) error {
	if l.failErr != nil {
		return l.failErr
	}
	l.appends++
	l.appendLens = append(l.appendLens, len(ents))
	return l.MemLog.Append(hs, ents)
}

// rig is one Handler with stepped workers and fakes.
type rig struct {
	h                 *driver.Handler
	log               *testLog
	snaps             *drivertest.SnapshotStore
	fsm               *drivertest.FSM
	tr                *fakeTransport
	trace             *traceLog
	disk, apply, snap *drivertest.QueueWorker
	fatal             []error
	cfg               driver.Config
}

func servers(ids ...raft.NodeID) raft.Configuration {
	var c raft.Configuration
	for _, id := range ids {
		c.Servers = append(c.Servers, raft.Server{ID: id, Address: "addr-" + string(id), Suffrage: raft.Voter})
	}
	return c
}

func newRig(t *testing.T, id raft.NodeID, conf raft.Configuration, tweak func(*driver.Config)) *rig {
	t.Helper()
	r := &rig{
		log: &testLog{MemLog: drivertest.NewMemLog()}, snaps: drivertest.NewSnapshotStore(), fsm: &drivertest.FSM{},
		tr: &fakeTransport{}, trace: &traceLog{},
		disk: &drivertest.QueueWorker{}, apply: &drivertest.QueueWorker{}, snap: &drivertest.QueueWorker{},
	}
	require.NoError(t, driver.Bootstrap(r.log, conf))
	r.cfg = driver.DefaultConfig(raft.SimConfig(id, clock.NewRand(1)))
	r.cfg.Tracer = r.trace
	r.cfg.OnFatal = func(err error) { r.fatal = append(r.fatal, err) }
	if tweak != nil {
		tweak(&r.cfg)
	}
	r.start(t)
	return r
}

// start (re)builds the handler over the rig's storage.
func (r *rig) start(t *testing.T) {
	t.Helper()
	h, err := driver.New(r.cfg, driver.Deps{
		Log: r.log, Snapshots: r.snaps, FSM: r.fsm, Transport: r.tr,
		Disk: r.disk, Apply: r.apply, Snap: r.snap,
	})
	require.NoError(t, err)
	r.h = h
}

func (r *rig) settle() { drivertest.Settle(r.disk, r.apply, r.snap) }

// leader bootstraps a single-node cluster and elects it.
func singleLeader(t *testing.T, tweak func(*driver.Config)) *rig {
	r := newRig(t, "n1", servers("n1"), tweak)
	require.NoError(t, r.h.Campaign())
	r.settle()
	require.Equal(t, raft.Leader, r.h.Status().SoftState.Role)
	return r
}

func TestHandlerSingleNodePropose(t *testing.T) {
	r := singleLeader(t, nil)
	var fs []*driver.Future
	for i := range 10 {
		fs = append(fs, r.h.Propose([]byte(fmt.Sprintf("cmd%d", i))))
	}
	for _, f := range fs {
		require.Equal(t, driver.Pending, f.Outcome(), "resolved before any disk work ran")
	}
	r.settle()
	for i, f := range fs {
		require.Equal(t, driver.Committed, f.Outcome(), "proposal %d: %v", i, f.Err())
		require.Equal(t, i+1, f.Result())
	}
	require.Equal(t, 10, r.fsm.Len())
	require.Equal(t, r.h.Status().HardState.Commit, r.h.Status().Applied)
}

func TestHandlerProposeRejected(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	f := r.h.Propose([]byte("x"))
	require.Equal(t, driver.Failed, f.Outcome())
	require.ErrorIs(t, f.Err(), raft.ErrNotLeader)
	rf := r.h.ReadIndex()
	r.settle()
	require.NotEqual(t, driver.Committed, rf.Outcome())
}

// TestHandlerAfterPersistWaitsForDisk checks ready.go step 4: a vote (a
// MessagesAfterPersist message) leaves only after the disk job holding its
// Ready completed, and the trace shows the persist first.
func TestHandlerAfterPersistWaitsForDisk(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	vote := raft.Message{Type: raft.MsgVote, From: "n2", To: "n1", Term: 5, LogTerm: 1, Index: 1}
	r.h.Receive(raft.EncodeMessage(&vote))
	require.Empty(t, r.tr.ofType(raft.MsgVoteResp), "vote left before its hard state was durable")
	require.Equal(t, 1, r.disk.Len())
	require.Equal(t, raft.Term(1), r.log.HardState().Term, "bootstrap term still on disk")

	r.disk.RunOne()
	resps := r.tr.ofType(raft.MsgVoteResp)
	require.Len(t, resps, 1)
	require.False(t, resps[0].Reject)
	require.Equal(t, raft.HardState{Term: 5, Vote: "n2", Commit: 1}, r.log.HardState())
	require.Equal(t, []string{
		`persist n1 term=5 vote="n2" commit=1 [1,0] snap=0`,
		"send MsgVoteResp n1->n2",
	}, r.trace.lines[len(r.trace.lines)-2:])
}

// TestHandlerAppendAckWaitsForDisk: a follower's MsgAppResp for new entries
// leaves only after the Append holding them.
func TestHandlerAppendAckWaitsForDisk(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	app := raft.Message{Type: raft.MsgApp, From: "n2", To: "n1", Term: 2, LogTerm: 1, Index: 1, Commit: 1,
		Entries: []raft.Entry{{Term: 2, Index: 2, Type: raft.EntryNoop}, {Term: 2, Index: 3, Type: raft.EntryNormal, Data: []byte("a")}}}
	var durableAtSend []raft.Index
	r.tr.onSend = func(m raft.Message) {
		if m.Type == raft.MsgAppResp {
			durableAtSend = append(durableAtSend, r.log.LastIndex())
		}
	}
	r.h.Receive(raft.EncodeMessage(&app))
	require.Empty(t, r.tr.ofType(raft.MsgAppResp))
	r.settle()
	require.Equal(t, []raft.Index{3}, durableAtSend)
	require.Equal(t, raft.Index(3), r.tr.ofType(raft.MsgAppResp)[0].Index)
}

func TestHandlerGroupCommit(t *testing.T) {
	r := singleLeader(t, nil)
	before := len(r.log.appendLens)
	first := r.h.Propose([]byte("first"))
	require.Equal(t, 1, r.disk.Len(), "one disk job in flight")
	var rest []*driver.Future
	for i := range 50 {
		rest = append(rest, r.h.Propose([]byte(fmt.Sprint(i))))
	}
	require.Equal(t, 1, r.disk.Len(), "later Readys wait in the persist queue")
	r.disk.RunOne() // the first job; its done submits one merged job
	require.Equal(t, 1, r.disk.Len())
	r.settle()
	// The first proposal's job, then one job for the other 50 (later jobs
	// only carry the commit index).
	require.Equal(t, []int{1, 50}, r.log.appendLens[before:before+2])
	require.Equal(t, driver.Committed, first.Outcome())
	for _, f := range rest {
		require.Equal(t, driver.Committed, f.Outcome())
	}
}

func TestHandlerBadInput(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	for _, p := range [][]byte{nil, {1}, {1, 99, 0}, {1, byte(raft.MsgApp), 0, 0xff}} {
		r.h.Receive(p)
	}
	require.Equal(t, uint64(4), r.h.Stats().BadMessages)
	// A well-formed message the core rejects (MsgApp from itself... with a
	// snapshot field on a non-snapshot type is unencodable; use a vote with
	// an empty sender) is counted as a step error.
	bad := raft.Message{Type: raft.MsgVote, To: "n1", Term: 3}
	r.h.Receive(raft.EncodeMessage(&bad))
	require.Equal(t, uint64(1), r.h.Stats().StepErrors)
}

func TestHandlerLeadershipLossResolvesUnknown(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	require.NoError(t, r.h.Campaign())
	r.settle()
	for _, m := range r.tr.ofType(raft.MsgPreVote) {
		resp := raft.Message{Type: raft.MsgPreVoteResp, From: m.To, To: "n1", Term: m.Term}
		r.h.Receive(raft.EncodeMessage(&resp))
	}
	r.settle()
	for _, m := range r.tr.ofType(raft.MsgVote) {
		resp := raft.Message{Type: raft.MsgVoteResp, From: m.To, To: "n1", Term: m.Term}
		r.h.Receive(raft.EncodeMessage(&resp))
	}
	r.settle()
	require.Equal(t, raft.Leader, r.h.Status().SoftState.Role)
	term := r.h.Status().HardState.Term

	f := r.h.Propose([]byte("x"))
	rf := r.h.ReadIndex()
	require.Equal(t, driver.Pending, f.Outcome())
	// A higher-term message deposes us before the proposal commits.
	hb := raft.Message{Type: raft.MsgHeartbeat, From: "n2", To: "n1", Term: term + 1}
	r.h.Receive(raft.EncodeMessage(&hb))
	require.Equal(t, driver.Unknown, f.Outcome())
	require.ErrorIs(t, f.Err(), driver.ErrLeadershipLost)
	require.NotEqual(t, driver.Pending, rf.Outcome())
	r.settle()
}

func TestHandlerStopResolvesEverything(t *testing.T) {
	r := singleLeader(t, nil)
	f := r.h.Propose([]byte("x"))
	r.h.Stop()
	require.Equal(t, driver.Unknown, f.Outcome())
	require.ErrorIs(t, f.Err(), driver.ErrStopped)
	r.settle() // completions after Stop are ignored
	require.Equal(t, driver.Unknown, r.h.Propose([]byte("y")).Outcome())
}

func TestHandlerFatalOnAppendError(t *testing.T) {
	r := singleLeader(t, nil)
	boom := errors.New("disk on fire")
	r.log.failErr = boom
	f := r.h.Propose([]byte("x"))
	r.settle()
	require.Len(t, r.fatal, 1)
	require.ErrorIs(t, r.fatal[0], boom)
	require.True(t, r.h.Stopped())
	require.Equal(t, driver.Unknown, f.Outcome())
}

func TestHandlerReadIndex(t *testing.T) {
	r := singleLeader(t, nil)
	r.h.Propose([]byte("x"))
	rf := r.h.ReadIndex()
	r.settle()
	require.Equal(t, driver.Committed, rf.Outcome(), "%v", rf.Err())
	require.GreaterOrEqual(t, r.h.Status().Applied, rf.Index)
}

func TestHandlerReadIndexTimesOut(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), func(c *driver.Config) { c.ReadTimeoutTicks = 3 })
	// Make n1 a follower that knows a leader, so the read is forwarded and
	// never answered.
	hb := raft.Message{Type: raft.MsgHeartbeat, From: "n2", To: "n1", Term: 2}
	r.h.Receive(raft.EncodeMessage(&hb))
	r.settle()
	rf := r.h.ReadIndex()
	if rf.Outcome() != driver.Pending {
		t.Skipf("core refused the forwarded read up front: %v", rf.Err())
	}
	for range 4 {
		r.h.Tick()
	}
	require.Equal(t, driver.Failed, rf.Outcome())
	require.ErrorIs(t, rf.Err(), driver.ErrReadTimeout)
}

// TestHandlerFutureCallbackMayReenter: a callback that proposes again while
// the handler resolves futures must not corrupt its bookkeeping.
func TestHandlerFutureCallbackMayReenter(t *testing.T) {
	r := singleLeader(t, nil)
	var chain []*driver.Future
	var next func(*driver.Future)
	next = func(f *driver.Future) {
		if len(chain) < 20 {
			nf := r.h.Propose([]byte(fmt.Sprint(len(chain))))
			chain = append(chain, nf)
			nf.OnResolve(next)
		}
	}
	f := r.h.Propose([]byte("start"))
	f.OnResolve(next)
	r.settle()
	require.Len(t, chain, 20)
	for _, c := range chain {
		require.Equal(t, driver.Committed, c.Outcome())
	}
	require.Equal(t, 21, r.fsm.Len())
}
