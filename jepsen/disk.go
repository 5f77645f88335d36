package jepsen

import (
	"context"
	"errors"
	"log/slog"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/wal"
)

// The node's disk is the host's vfs.Mem: the real WAL in wal/, the real
// snapshot store in snap/, received snapshots staged in staging/.
const (
	walDir     = "wal"
	snapDir    = "snap"
	stagingDir = "staging"
)

var (
	// errPowerLoss fails every write and sync from the instant the
	// nemesis cut a node's power until the host crashes.
	errPowerLoss = errors.New("jepsen: power lost")
	// errDiskFull is an injected short write (ENOSPC).
	errDiskFull = errors.New("jepsen: no space left on device")
)

// openDisk recovers the WAL and the snapshot store, and clears staging
// files a crash left behind.
func (n *node) openDisk() error {
	fs := n.host.FS()
	cfg := wal.Config{
		SegmentBytes:   n.c.swarm.SegmentBytes,
		MaxRecordBytes: 2 << 20,
		CacheBytes:     64 << 10,
		Logger:         slog.New(repairCounter{&n.c.stats}),
	}
	log, err := wal.Open(fs, walDir, cfg)
	if err != nil {
		return err
	}
	snaps, err := wal.OpenSnapshotStore(fs, snapDir, 2)
	if err != nil {
		return err
	}
	if err := fs.MkdirAll(stagingDir); err != nil {
		return err
	}
	names, err := fs.ReadDir(stagingDir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := fs.Remove(stagingDir + "/" + name); err != nil {
			return err
		}
	}
	n.log, n.snaps = log, snaps
	return nil
}

// installFaults hooks the host's disk: fsync counting, armed power loss
// at the k-th next fsync (so that a crash lands inside a multi-step write:
// between a segment's data and its directory entry, a snapshot file and
// its rename, ...), and an injected full disk.
func (n *node) installFaults() {
	c := n.c
	sync := func(string) error {
		c.stats.Fsyncs++
		if n.syncArm > 0 {
			n.syncArm--
			if n.syncArm == 0 && !c.healed && c.outBudgetFor(n) {
				n.dying = true
			}
		}
		if n.dying {
			return errPowerLoss
		}
		return nil
	}
	n.host.FS().SetFaults(&vfs.Faults{
		Sync:    sync,
		SyncDir: sync,
		Write: func(name string, p []byte) (int, error) {
			if n.dying {
				return 0, errPowerLoss
			}
			if n.fullArm && len(p) > 1 {
				n.fullArm, n.diskFull = false, true
				return c.diskRand.IntN(len(p)), errDiskFull
			}
			return len(p), nil
		},
	})
}

// powerLoss crashes a node whose power was cut during a disk operation:
// vfs.Mem drops or tears what was not yet synced.
func (n *node) powerLoss() {
	kind := n.armKind
	if kind == "" {
		kind = FaultCrash
	}
	n.armKind = ""
	n.c.w.Tracef("%s power lost during a disk write", n.id)
	n.c.crash(n, kind)
	n.c.scheduleRestart(n)
}

// repairCounter is a slog.Handler counting the WAL's torn-tail repairs.
type repairCounter struct{ s *Stats }

func (r repairCounter) Enabled(context.Context, slog.Level) bool { return true }
func (r repairCounter) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "wal: repairing torn tail" {
		r.s.TornRepairs++
	}
	return nil
}
func (r repairCounter) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r repairCounter) WithGroup(string) slog.Handler      { return r }

// checkedLog is the node's WAL as the driver sees it: before each write it
// tells the durability checker what a crash during the write may leave
// behind (an unsynced write may survive a power loss).
type checkedLog struct {
	*wal.Log
	n *node
}

func (l checkedLog) Append(hs raft.HardState, ents []raft.Entry) error {
	var from raft.Index
	if len(ents) > 0 {
		from = ents[0].Index
		if from <= l.Log.LastIndex() || len(confIndexes(ents)) > 0 {
			l.n.confCheckDue = true // confcheck.go, checkConfigMatchesLog
		}
	}
	l.n.c.check.Writing(l.n.id, hs, from, l.Log)
	return l.Log.Append(hs, ents)
}

func (l checkedLog) ApplySnapshot(meta raft.SnapshotMeta) error {
	l.n.confCheckDue = true
	l.n.c.check.Writing(l.n.id, raft.HardState{}, meta.Index+1, l.Log)
	return l.Log.ApplySnapshot(meta)
}
