package driver_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
)

func smallSnapshots(c *driver.Config) {
	c.SnapshotThreshold = 10
	c.TrailingLogs = 4
}

func proposeN(t *testing.T, r *rig, n int, prefix string) {
	t.Helper()
	for i := range n {
		f := r.h.Propose([]byte(fmt.Sprintf("%s%d", prefix, i)))
		r.settle()
		require.Equal(t, driver.Committed, f.Outcome(), "%v", f.Err())
	}
}

func TestHandlerLocalSnapshotCompactsAndRestarts(t *testing.T) {
	r := singleLeader(t, smallSnapshots)
	proposeN(t, r, 25, "c")
	applied := r.h.Status().Applied
	require.GreaterOrEqual(t, r.h.Stats().Snapshots, uint64(2))

	latest, ok, err := r.snaps.Latest()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, latest, r.log.Snapshot(), "log and snapshot store agree")
	require.Equal(t, servers("n1"), latest.Configuration)
	require.Equal(t, raft.Index(1), latest.ConfigIndex)
	require.Equal(t, latest.Index-4+1, r.log.FirstIndex(), "TrailingLogs entries kept below the snapshot")

	// Restart over the same storage with an empty FSM: restore from the
	// snapshot, then replay the committed tail.
	want := r.fsm.Commands()
	r.h.Stop()
	r.fsm = &drivertest.FSM{}
	r.start(t)
	require.Equal(t, 1, r.fsm.Restores())
	require.NoError(t, r.h.Campaign())
	r.settle()
	require.Equal(t, want, r.fsm.Commands())
	require.GreaterOrEqual(t, r.h.Status().Applied, applied)
}

// TestHandlerRecoverFileAheadOfLog builds the state a crash leaves between
// a snapshot file's rename and the log recording it: restart must adopt the
// file, and agree with the log, without re-applying entries.
func TestHandlerRecoverFileAheadOfLog(t *testing.T) {
	r := singleLeader(t, func(c *driver.Config) { c.SnapshotThreshold = 1000 })
	proposeN(t, r, 8, "c")
	want := r.fsm.Commands()
	st := r.h.Status()
	r.h.Stop()

	snap, err := r.fsm.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = snap.WriteTo(&buf)
	require.NoError(t, err)
	term, err := r.log.Term(st.Applied)
	require.NoError(t, err)
	meta := raft.SnapshotMeta{Index: st.Applied, Term: term, Configuration: servers("n1"), ConfigIndex: 1}
	r.snaps.Put(meta, buf.Bytes())
	require.True(t, r.log.Snapshot().IsEmpty(), "crash before the log recorded it")

	r.fsm = &drivertest.FSM{}
	r.start(t)
	require.Equal(t, meta, r.log.Snapshot())
	require.Equal(t, want, r.fsm.Commands())
	require.NoError(t, r.h.Campaign())
	r.settle()
	proposeN(t, r, 1, "after")
	require.Equal(t, len(want)+1, r.fsm.Len(), "no entry applied twice (the FSM panics on that)")
}

func TestHandlerRecoverRefusesMissingFile(t *testing.T) {
	r := singleLeader(t, func(c *driver.Config) { c.SnapshotThreshold = 1000 })
	proposeN(t, r, 3, "c")
	r.h.Stop()
	require.NoError(t, r.log.RecordSnapshot(raft.SnapshotMeta{Index: 2, Term: 1, Configuration: servers("n1"), ConfigIndex: 1}))
	_, err := driver.New(r.cfg, driver.Deps{Log: r.log, Snapshots: r.snaps, FSM: r.fsm, Transport: r.tr,
		Disk: r.disk, Apply: r.apply, Snap: r.snap})
	require.ErrorContains(t, err, "no snapshot file")
}

// staged is an in-memory Staged that records its removal.
type staged struct {
	data    []byte
	removed atomic.Bool
}

func (s *staged) Open() (io.ReadCloser, error) {
	if s.removed.Load() {
		return nil, errors.New("removed")
	}
	return io.NopCloser(bytes.NewReader(s.data)), nil
}
func (s *staged) Remove() error { s.removed.Store(true); return nil }

// snapshotOf builds the FSM snapshot bytes holding cmds.
func snapshotOf(t *testing.T, last raft.Index, cmds ...string) []byte {
	f := &drivertest.FSM{}
	for i, c := range cmds {
		f.Apply(raft.Entry{Index: last - raft.Index(len(cmds)-1-i), Data: []byte(c)})
	}
	s, err := f.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = s.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestHandlerReceiveSnapshot(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	r.settle()
	// An apply job still queued must run before the restore.
	meta := raft.SnapshotMeta{Index: 50, Term: 3, Configuration: servers("n1", "n2", "n3"), ConfigIndex: 1}
	st := &staged{data: snapshotOf(t, 50, "a", "b", "c")}
	m := raft.Message{Type: raft.MsgSnap, From: "n2", To: "n1", Term: 3, Snapshot: &meta}
	r.h.ReceiveSnapshot(m, st)
	require.Empty(t, r.tr.ofType(raft.MsgAppResp), "acknowledged before the install")
	r.settle()

	require.Equal(t, 1, r.fsm.Restores())
	require.Equal(t, []string{"a", "b", "c"}, strs(r.fsm.Commands()))
	require.Equal(t, meta, r.log.Snapshot())
	require.Equal(t, raft.Index(50), r.log.LastIndex())
	require.True(t, st.removed.Load(), "staged file removed after the copy")
	require.Equal(t, []raft.Index{50}, r.snaps.Indexes())
	acks := r.tr.ofType(raft.MsgAppResp)
	require.NotEmpty(t, acks)
	require.Equal(t, raft.Index(50), acks[len(acks)-1].Index)
	require.Equal(t, raft.Index(50), r.h.Status().Applied)
	require.Equal(t, uint64(1), r.h.Stats().Installed)

	// The same snapshot again is stale: ignored, staged bytes deleted.
	st2 := &staged{data: st.data}
	r.h.ReceiveSnapshot(m, st2)
	r.settle()
	require.True(t, st2.removed.Load())
	require.Equal(t, 1, r.fsm.Restores())
	require.Equal(t, uint64(1), r.h.Stats().IgnoredSnaps)

	// Restart restores from the installed snapshot.
	r.h.Stop()
	r.fsm = &drivertest.FSM{}
	r.start(t)
	require.Equal(t, []string{"a", "b", "c"}, strs(r.fsm.Commands()))
}

func strs(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestHandlerLeaderStreamsSnapshot(t *testing.T) {
	// n1 leads n2 (a follower that never answers, so it falls behind the
	// compacted log) and n3.
	r := newRig(t, "n1", servers("n1", "n2", "n3"), smallSnapshots)
	require.NoError(t, r.h.Campaign())
	r.settle()
	grant := func(typ, resp raft.MessageType) {
		for _, m := range r.tr.ofType(typ) {
			if m.To == "n3" {
				a := raft.Message{Type: resp, From: "n3", To: "n1", Term: m.Term}
				r.h.Receive(raft.EncodeMessage(&a))
			}
		}
		r.settle()
	}
	grant(raft.MsgPreVote, raft.MsgPreVoteResp)
	grant(raft.MsgVote, raft.MsgVoteResp)
	require.Equal(t, raft.Leader, r.h.Status().SoftState.Role)
	term := r.h.Status().HardState.Term
	for i := range 30 {
		f := r.h.Propose([]byte(fmt.Sprint(i)))
		r.settle()
		last := r.h.Status().LastIndex
		ack := raft.Message{Type: raft.MsgAppResp, From: "n3", To: "n1", Term: term, Index: last}
		r.h.Receive(raft.EncodeMessage(&ack))
		r.settle()
		require.Equal(t, driver.Committed, f.Outcome())
	}
	require.Greater(t, r.log.FirstIndex(), raft.Index(2))
	// n2 now rejects a probe at index 1: it needs a snapshot.
	rej := raft.Message{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: term, Index: 1, Reject: true, ConflictIndex: 2}
	r.h.Receive(raft.EncodeMessage(&rej))
	for range 5 {
		r.h.Tick()
	}
	r.settle()
	var snaps []raft.Message
	for _, s := range r.tr.sent {
		if s.snap {
			snaps = append(snaps, s.msg)
		}
	}
	require.NotEmpty(t, snaps, "leader streams a snapshot to the lagging follower")
	require.Equal(t, r.log.Snapshot(), *snaps[0].Snapshot)
	require.Len(t, r.tr.pending, len(snaps))
	r.tr.pending[0](true)
	r.settle()
}
