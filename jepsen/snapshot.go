package jepsen

import (
	"errors"
	"fmt"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/raft"
)

// simDisk is a node's durable state: its log store and its snapshot files
// on the host's vfs.Mem.
type simDisk struct {
	fs  *vfs.Mem
	log *raft.MemoryStorage
}

func newSimDisk(h *world.Host) *simDisk {
	return &simDisk{fs: h.FS(), log: raft.NewMemoryStorage()}
}

// reopen prepares the disk after a (re)start.
func (d *simDisk) reopen() error { return d.fs.MkdirAll("snap") }

func snapName(i raft.Index) string { return fmt.Sprintf("snap/%020d", i) }

// saveSnapshot writes data durably as the snapshot at i: temp file,
// fsync, rename, directory fsync.
func (d *simDisk) saveSnapshot(i raft.Index, data []byte) error {
	if err := d.fs.MkdirAll("snap"); err != nil {
		return err
	}
	f, err := d.fs.Create("snap/tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := d.fs.Rename("snap/tmp", snapName(i)); err != nil {
		return err
	}
	return d.fs.SyncDir("snap")
}

func (d *simDisk) loadSnapshot(i raft.Index) ([]byte, error) {
	f, err := d.fs.Open(snapName(i))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && size > 0 {
		return nil, err
	}
	return b, nil
}

// maybeSnapshot takes a local snapshot once SnapshotEvery entries were
// applied since the last one, and compacts the log behind it, keeping
// TrailingLogs entries.
func (n *node) maybeSnapshot() {
	snap := n.disk.log.Snapshot()
	if n.snapping || uint64(n.appliedTo-snap.Index) < n.c.swarm.SnapshotEvery {
		return
	}
	n.snapping = true
	idx, conf, confIdx := n.appliedTo, n.conf, n.confIndex
	data := n.fsm.Snapshot()
	epoch := n.host.Epoch()
	n.c.maybeCrashDuring(n, FaultCrashCompaction, n.c.swarm.CrashInCompactPPM)
	n.host.Disk(func() {
		if n.rn == nil || n.host.Epoch() != epoch {
			return
		}
		n.snapping = false
		if err := n.disk.saveSnapshot(idx, data); err != nil {
			panic(err)
		}
		err := n.disk.log.CreateSnapshot(idx, conf, confIdx)
		if errors.Is(err, raft.ErrSnapshotOutOfDate) {
			return
		}
		if err != nil {
			panic(fmt.Sprintf("%s: create snapshot %d: %v", n.id, idx, err))
		}
		if trail := raft.Index(n.c.swarm.TrailingLogs); idx > trail {
			if err := n.disk.log.Compact(idx - trail); err != nil && !errors.Is(err, raft.ErrCompacted) {
				panic(fmt.Sprintf("%s: compact %d: %v", n.id, idx-trail, err))
			}
		}
		n.c.w.Tracef("%s snapshot index=%d compact<=%d", n.id, idx, idx-min(idx, raft.Index(n.c.swarm.TrailingLogs)))
	})
}

// sendSnapshot streams the snapshot the core announced: the encoded
// MsgSnap, then the state machine bytes. The core learns the outcome via
// ReportSnapshot.
func (n *node) sendSnapshot(m *raft.Message) {
	to := n.c.byID[m.To]
	report := func(ok bool) {
		if n.rn != nil {
			n.rn.ReportSnapshot(m.To, ok)
			n.process()
		}
	}
	if to == nil {
		report(false)
		return
	}
	data, err := n.disk.loadSnapshot(m.Snapshot.Index)
	if err != nil {
		report(false)
		return
	}
	// A failed transfer is reported after a back-off, as a real dialer
	// would: reporting at once lets the core re-send the snapshot in the
	// same instant, forever.
	const backoff = 50 * time.Millisecond
	s, err := n.host.Dial(to.addr)
	if err != nil {
		n.rn.ReportUnreachable(m.To)
		n.host.Go(backoff, func() { report(false) })
		return
	}
	n.c.w.Tracef("%s stream snapshot index=%d to %s (%d bytes)", n.id, m.Snapshot.Index, m.To, len(data))
	s.Write(raft.EncodeMessage(m))
	s.Write(data)
	s.Close(func(err error) {
		if err != nil {
			n.host.Go(backoff, func() { report(false) })
			return
		}
		report(true)
	})
}

// acceptSnapshot receives a snapshot stream: stage the bytes, then step
// the MsgSnap into the core, which hands the install back in a Ready.
func (n *node) acceptSnapshot(s *world.Stream) {
	var chunks [][]byte
	s.Receive(func(b []byte) { chunks = append(chunks, b) }, func(err error) {
		if err != nil || n.rn == nil || len(chunks) != 2 {
			return
		}
		m, err := raft.DecodeMessage(chunks[0])
		if err != nil || m.Type != raft.MsgSnap || m.Snapshot == nil {
			return
		}
		n.staged[m.Snapshot.Index] = chunks[1]
		n.c.w.Tracef("deliver %s->%s MsgSnap term=%d index=%d", m.From, m.To, m.Term, m.Snapshot.Index)
		n.c.maybeCrashDuring(n, FaultCrashSnapshot, n.c.swarm.CrashInSnapshotPPM)
		_ = n.rn.Step(m)
		n.process()
	})
}
