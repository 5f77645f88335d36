package check

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

func TestLogShape(t *testing.T) {
	ents := func(terms ...raft.Term) []raft.Entry {
		var es []raft.Entry
		for i, t := range terms {
			es = append(es, raft.Entry{Index: raft.Index(i + 1), Term: t, Type: raft.EntryNormal})
		}
		return es
	}
	tests := []struct {
		name  string
		other []raft.Entry // made durable by n2 first
		log   []raft.Entry // n1's log
		snap  raft.SnapshotMeta
		fail  bool
	}{
		{"terms rise", ents(1, 1), ents(1, 1, 2, 2), raft.SnapshotMeta{}, false},
		{"term drops", nil, ents(1, 2, 1), raft.SnapshotMeta{}, true},
		{"entry follows another term than elsewhere", ents(1, 2), ents(2, 2), raft.SnapshotMeta{}, true},
		{"snapshot term above the kept suffix", nil, ents(1, 1, 1, 1), raft.SnapshotMeta{Index: 2, Term: 3}, true},
		{"suffix after a matching snapshot", ents(1, 1, 2), ents(1, 1, 2), raft.SnapshotMeta{Index: 2, Term: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			if tt.other != nil {
				c.Persisted("n2", raft.HardState{Term: 3}, tt.other, raft.NewMemoryStorage(), false, 0)
			}
			ms := raft.NewMemoryStorage()
			require.NoError(t, ms.Append(raft.HardState{Term: 3}, tt.log))
			var s raft.Storage = ms
			if tt.snap.Index != 0 {
				// What a snapshot install that keeps the suffix without
				// checking its term leaves behind.
				require.NoError(t, ms.CreateSnapshot(tt.snap.Index, raft.Configuration{}, 0))
				require.NoError(t, ms.Compact(tt.snap.Index))
				s = withSnapshotTerm{ms, tt.snap}
			}
			c.LogShape("n1", s)
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, LogMatching, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}

// withSnapshotTerm reports meta as the snapshot (and meta.Term as the term
// of its index), whatever the log held there.
type withSnapshotTerm struct {
	raft.Storage
	meta raft.SnapshotMeta
}

func (w withSnapshotTerm) Snapshot() raft.SnapshotMeta { return w.meta }

func (w withSnapshotTerm) Term(i raft.Index) (raft.Term, error) {
	if i == w.meta.Index {
		return w.meta.Term, nil
	}
	return w.Storage.Term(i)
}
