package check

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/raft"
)

func TestOneConfChange(t *testing.T) {
	// step is one observation: a commit index learned, or node n1's log
	// rewritten from `from` on with configuration entries at confs.
	type step struct {
		commit raft.Index
		from   raft.Index
		confs  []raft.Index
	}
	tests := []struct {
		name  string
		steps []step
		fail  bool
	}{
		{"one change above the commit", []step{{commit: 10}, {from: 11, confs: []raft.Index{12}}}, false},
		{"second change after the first committed", []step{{from: 11, confs: []raft.Index{12}}, {commit: 12}, {from: 13, confs: []raft.Index{14}}}, false},
		{"second change while the first is uncommitted", []step{{commit: 10}, {from: 11, confs: []raft.Index{12}}, {from: 13, confs: []raft.Index{14}}}, true},
		{"two changes in one write", []step{{commit: 10}, {from: 11, confs: []raft.Index{12, 13}}}, true},
		{"first change truncated by the second's leader", []step{{commit: 10}, {from: 11, confs: []raft.Index{12}}, {from: 12, confs: []raft.Index{13}}}, false},
		{"first change kept below a truncation", []step{{commit: 10}, {from: 11, confs: []raft.Index{12}}, {from: 13, confs: []raft.Index{13}}}, true},
		{"whole log rewritten (restart), both committed", []step{{commit: 20}, {from: 0, confs: []raft.Index{1, 12, 14}}}, false},
		{"whole log rewritten (restart), two above", []step{{commit: 11}, {from: 0, confs: []raft.Index{1, 12, 14}}}, true},
		{"whole log rewritten drops the old ones", []step{{commit: 10}, {from: 11, confs: []raft.Index{12}}, {from: 0, confs: []raft.Index{1}}, {from: 13, confs: []raft.Index{14}}}, false},
		{"the node's own lagging commit does not matter", []step{{commit: 15}, {from: 0, confs: []raft.Index{1, 12, 14}}, {from: 16, confs: []raft.Index{16}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			for _, s := range tt.steps {
				if s.commit != 0 {
					c.CommittedAtLeast(s.commit)
					continue
				}
				c.ConfigEntries("n1", s.from, s.confs)
			}
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, OneConfChange, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}

func TestConfChangeOwnTerm(t *testing.T) {
	tests := []struct {
		name      string
		commit    raft.Index
		index     raft.Index
		termStart raft.Index
		fail      bool
	}{
		{"after the leader's committed no-op", 20, 23, 20, false},
		{"leader's no-op not yet committed", 19, 23, 20, true},
		{"first entry of its term (no no-op before it)", 30, 23, 23, true},
		{"term begins in the snapshot", 0, 23, 0, false},
		{"bootstrap configuration", 0, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			c.CommittedAtLeast(tt.commit)
			c.ConfigAppended("n1", tt.index, 4, tt.termStart)
			if tt.fail {
				require.Error(t, c.Err())
				require.Equal(t, ConfChangeOwnTerm, c.Violation().Checker)
			} else {
				require.NoError(t, c.Err())
			}
		})
	}
}
