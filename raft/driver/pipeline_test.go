package driver_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
	"github.com/agentd/agentd/raft/driver/drivertest"
)

// pipeLog is a pipelined testLog: Write keeps the batch aside, its sync
// appends every batch kept up to and including it (what one fsync
// covering them does), so Storage shows only synced batches.
type pipeLog struct {
	*testLog
	written [][2]any // hs, ents of batches written, not yet synced
	synced  int      // batches synced so far
	total   int      // batches written so far
}

func (l *pipeLog) Write(hs raft.HardState, ents []raft.Entry) (func() error, error) {
	l.written = append(l.written, [2]any{hs, append([]raft.Entry(nil), ents...)})
	l.total++
	gen := l.total
	return func() error {
		for l.synced < gen {
			b := l.written[0]
			l.written = l.written[1:]
			l.synced++
			if err := l.testLog.Append(b[0].(raft.HardState), b[1].([]raft.Entry)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// TestHandlerPipelinedAckWaitsForSync: with Deps.Sync and a pipelined log,
// the next batch is written while the previous one's fsync is pending, and
// each MsgAppResp leaves only after the sync covering its entries, in
// order.
func TestHandlerPipelinedAckWaitsForSync(t *testing.T) {
	r := newRig(t, "n1", servers("n1", "n2", "n3"), nil)
	pl := &pipeLog{testLog: r.log}
	sync := &drivertest.QueueWorker{}
	h, err := driver.New(r.cfg, driver.Deps{
		Log: pl, Snapshots: r.snaps, FSM: r.fsm, Transport: r.tr,
		Disk: r.disk, Apply: r.apply, Snap: r.snap, Sync: sync,
	})
	require.NoError(t, err)
	var durableAtSend []raft.Index
	r.tr.onSend = func(m raft.Message) {
		if m.Type == raft.MsgAppResp {
			durableAtSend = append(durableAtSend, pl.LastIndex())
		}
	}
	app1 := raft.Message{Type: raft.MsgApp, From: "n2", To: "n1", Term: 2, LogTerm: 1, Index: 1, Commit: 1,
		Entries: []raft.Entry{{Term: 2, Index: 2, Type: raft.EntryNoop}, {Term: 2, Index: 3, Type: raft.EntryNormal, Data: []byte("a")}}}
	app2 := raft.Message{Type: raft.MsgApp, From: "n2", To: "n1", Term: 2, LogTerm: 2, Index: 3, Commit: 1,
		Entries: []raft.Entry{{Term: 2, Index: 4, Type: raft.EntryNormal, Data: []byte("b")}}}

	h.Receive(raft.EncodeMessage(&app1))
	require.Equal(t, 1, r.disk.Len())
	r.disk.RunOne() // writes batch 1 and queues its sync
	require.Equal(t, 1, sync.Len())
	require.Empty(t, r.tr.ofType(raft.MsgAppResp), "ack before the sync")

	h.Receive(raft.EncodeMessage(&app2))
	require.Equal(t, 1, r.disk.Len(), "batch 2 is written while batch 1's sync is pending")
	r.disk.RunOne()
	require.Equal(t, 2, sync.Len())
	require.Empty(t, r.tr.ofType(raft.MsgAppResp))
	require.Equal(t, raft.Index(1), pl.LastIndex(), "nothing durable yet")

	sync.RunOne()
	require.Equal(t, []raft.Index{3}, durableAtSend, "only batch 1 acknowledged")
	sync.RunOne()
	require.Equal(t, []raft.Index{3, 4}, durableAtSend)
	resps := r.tr.ofType(raft.MsgAppResp)
	require.Equal(t, raft.Index(3), resps[0].Index)
	require.Equal(t, raft.Index(4), resps[1].Index)
	require.False(t, h.Stopped())
}

// TestHandlerPipelinedLeaderCountsItselfWhenSynced: a single-node leader
// commits (and applies) a proposal only once the sync covering it ran, not
// when it was written.
func TestHandlerPipelinedLeaderCountsItselfWhenSynced(t *testing.T) {
	r := newRig(t, "n1", servers("n1"), nil)
	pl := &pipeLog{testLog: r.log}
	sync := &drivertest.QueueWorker{}
	h, err := driver.New(r.cfg, driver.Deps{
		Log: pl, Snapshots: r.snaps, FSM: r.fsm, Transport: r.tr,
		Disk: r.disk, Apply: r.apply, Snap: r.snap, Sync: sync,
	})
	require.NoError(t, err)
	require.NoError(t, h.Campaign())
	drivertest.Settle(r.disk, sync, r.apply, r.snap)
	require.Equal(t, raft.Leader, h.Status().SoftState.Role)

	f := h.Propose([]byte("x"))
	r.disk.RunAll()
	r.apply.RunAll()
	require.Equal(t, driver.Pending, f.Outcome(), "committed before its sync")
	require.Equal(t, 1, sync.Len())
	drivertest.Settle(r.disk, sync, r.apply, r.snap)
	require.Equal(t, driver.Committed, f.Outcome())
	require.Equal(t, [][]byte{[]byte("x")}, r.fsm.Commands())
}
