package store

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSessionCreateValidation(t *testing.T) {
	tests := []struct {
		name    string
		sess    Session
		wantErr string
		check   func(t *testing.T, s *Session)
	}{
		{name: "defaults to serfHealth and release", sess: Session{ID: "s", Node: "n1"},
			check: func(t *testing.T, s *Session) {
				require.Equal(t, []string{SerfCheckID}, s.NodeChecks)
				require.Equal(t, BehaviorRelease, s.Behavior)
				require.Equal(t, t0, s.CreateTime)
			}},
		{name: "empty NodeChecks means none", sess: Session{ID: "s", Node: "n1", NodeChecks: []string{}},
			check: func(t *testing.T, s *Session) { require.Nil(t, s.NodeChecks) }},
		{name: "node without serfHealth gets no default", sess: Session{ID: "s", Node: "bare"},
			check: func(t *testing.T, s *Session) { require.Nil(t, s.NodeChecks) }},
		{name: "missing node", sess: Session{ID: "s", Node: "nx"}, wantErr: "Missing node registration"},
		{name: "missing check", sess: Session{ID: "s", Node: "n1", NodeChecks: []string{"nope"}}, wantErr: "Missing check 'nope' registration"},
		{name: "critical check", sess: Session{ID: "s", Node: "n1", NodeChecks: []string{"crit"}}, wantErr: "Check 'crit' is in critical state"},
		{name: "service check", sess: Session{ID: "s", Node: "n1", ServiceChecks: []ServiceCheck{{ID: "svc-check"}}},
			check: func(t *testing.T, s *Session) { require.Len(t, s.ServiceChecks, 1) }},
		{name: "bad behavior", sess: Session{ID: "s", Node: "n1", Behavior: "explode"}, wantErr: "invalid session behavior"},
		{name: "duplicate ID", sess: Session{ID: "dup", Node: "n1"}, wantErr: "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.node("n1")
			h.ok(&Register{Node: Node{Node: "bare"}})
			h.ok(&Register{Node: Node{Node: "n1"}, Checks: []Check{{CheckID: "crit", Status: HealthCritical}}})
			h.ok(&Register{Node: Node{Node: "n1"}, Service: &Service{Service: "web"},
				Checks: []Check{{CheckID: "svc-check", ServiceID: "web", Status: HealthPassing}}})
			h.session("dup", "n1", nil)
			r := h.apply(&SessionCreate{Session: tc.sess})
			if tc.wantErr != "" {
				require.True(t, errors.Is(r.Err, ErrRejected), "%v", r.Err)
				require.ErrorContains(t, r.Err, tc.wantErr)
				return
			}
			require.NoError(t, r.Err)
			idx, s := h.s.SessionGet(nil, tc.sess.ID)
			require.Equal(t, r.Index, idx)
			require.Equal(t, r.Index, s.CreateIndex)
			tc.check(t, s)
		})
	}
}

// Invalidation: explicit destroy, linked check critical, check or service
// deregistered, node deregistered (consul-api.md §4).
func TestSessionInvalidation(t *testing.T) {
	tests := []struct {
		name       string
		behavior   SessionBehavior
		invalidate Op
		wantGone   bool // session destroyed
	}{
		{"destroy", BehaviorRelease, &SessionDestroy{ID: "s1"}, true},
		{"serfHealth critical", BehaviorRelease, &Register{Node: Node{Node: "n1", Address: "10.0.0.1"},
			Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthCritical}}}, true},
		{"serfHealth warning keeps it", BehaviorRelease, &Register{Node: Node{Node: "n1", Address: "10.0.0.1"},
			Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthWarning}}}, false},
		{"other check critical keeps it", BehaviorRelease, &Register{Node: Node{Node: "n1", Address: "10.0.0.1"},
			Checks: []Check{{CheckID: "other", Status: HealthCritical}}}, false},
		{"check deregistered", BehaviorRelease, &Deregister{Node: "n1", CheckID: SerfCheckID}, true},
		{"node deregistered", BehaviorRelease, &Deregister{Node: "n1"}, true},
		{"delete behavior", BehaviorDelete, &SessionDestroy{ID: "s1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.node("n1")
			h.session("s1", "n1", func(s *Session) { s.Behavior = tc.behavior })
			h.ok(&KVOp{Verb: KVLock, Key: "k", Value: []byte("v"), Session: "s1"})
			ws := NewWatchSet()
			h.s.KVGet(ws, "k")
			h.ok(tc.invalidate)
			_, s := h.s.SessionGet(nil, "s1")
			require.Equal(t, tc.wantGone, s == nil)
			e := h.get("k")
			switch {
			case !tc.wantGone:
				require.Equal(t, "s1", e.Session)
				return
			case tc.behavior == BehaviorDelete:
				require.Nil(t, e, "delete behavior removes held keys")
			default:
				require.Equal(t, "", e.Session)
				require.Equal(t, uint64(1), e.LockIndex)
				require.Equal(t, "v", string(e.Value))
			}
			require.Equal(t, t0.Add(15*time.Second), h.s.KVLockDelay("k"))
			require.True(t, fired(ws), "key watcher woken")
		})
	}
}

func TestSessionReads(t *testing.T) {
	h := newHarness(t)
	h.node("n1")
	h.node("n2")
	h.session("b", "n1", nil)
	h.session("a", "n1", nil)
	h.session("c", "n2", nil)
	idx, all := h.s.SessionList(nil)
	require.Equal(t, uint64(5), idx)
	require.Equal(t, []string{"a", "b", "c"}, sessionIDs(all))
	_, n1 := h.s.NodeSessions(nil, "n1")
	require.Equal(t, []string{"a", "b"}, sessionIDs(n1))
	idx, s := h.s.SessionGet(nil, "zz")
	require.Nil(t, s)
	require.Equal(t, uint64(5), idx)
	h.ok(&SessionDestroy{ID: "zz"}) // unknown: no-op, succeeds
	idx, _ = h.s.SessionList(nil)
	require.Equal(t, uint64(5), idx, "no index change")
}

func sessionIDs(ss []*Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}
