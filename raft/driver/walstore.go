package driver

import (
	"errors"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/wal"
)

// WALSnapshots adapts a wal.SnapshotStore to SnapshotStore.
func WALSnapshots(s *wal.SnapshotStore) SnapshotStore { return walSnapshots{s} }

type walSnapshots struct{ *wal.SnapshotStore }

func (w walSnapshots) Create(meta raft.SnapshotMeta) (SnapshotSink, error) {
	k, err := w.SnapshotStore.Create(meta)
	if err != nil {
		return nil, err
	}
	return walSink{k}, nil
}

func (w walSnapshots) Latest() (raft.SnapshotMeta, bool, error) {
	meta, err := w.SnapshotStore.Latest()
	if errors.Is(err, wal.ErrNoSnapshot) {
		return raft.SnapshotMeta{}, false, nil
	}
	if err != nil {
		return raft.SnapshotMeta{}, false, err
	}
	return meta, true, nil
}

type walSink struct{ *wal.Sink }

func (k walSink) Abort() error { return k.Cancel() }
