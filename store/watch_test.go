package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fired reports whether ws has fired, without blocking.
func fired(ws *WatchSet) bool {
	for _, ch := range ws.chans {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// The precision test: 1,000 watchers of a/x and 10,000 writes to
// b/* give zero wakeups; a delete of a/x wakes a watcher of prefix a/.
func TestWatchPrecision(t *testing.T) {
	h := newHarness(t)
	h.set("a/x", "1")
	var sets []*WatchSet
	for range 1000 {
		ws := NewWatchSet()
		h.s.KVGet(ws, "a/x")
		sets = append(sets, ws)
	}
	prefixWS := NewWatchSet()
	h.s.KVList(prefixWS, "a/")
	keysWS := NewWatchSet()
	h.s.KVKeys(keysWS, "a", "/")
	otherWS := NewWatchSet()
	h.s.KVGet(otherWS, "a/y")

	before := h.s.Stats()
	for i := range 10000 {
		h.set(fmt.Sprintf("b/%d", i), "v")
	}
	for _, ws := range append(sets, prefixWS, keysWS, otherWS) {
		require.False(t, fired(ws))
	}
	require.Equal(t, before.WatchFires, h.s.Stats().WatchFires, "no channel closed")

	h.ok(&KVOp{Verb: KVDelete, Key: "a/x"})
	for _, ws := range append(sets, prefixWS, keysWS) {
		require.True(t, fired(ws))
	}
	require.False(t, fired(otherWS), "a/y is not a/x")
	// 1,000 readers of a/x share one channel; plus the two prefixes.
	require.Equal(t, before.WatchFires+3, h.s.Stats().WatchFires)
}

func TestWatchTopics(t *testing.T) {
	type read func(s *Store, ws *WatchSet)
	tests := []struct {
		name  string
		read  read
		write Op
		want  bool
	}{
		{"key by its write", func(s *Store, ws *WatchSet) { s.KVGet(ws, "k") }, &KVOp{Verb: KVSet, Key: "k"}, true},
		{"key not by a longer key", func(s *Store, ws *WatchSet) { s.KVGet(ws, "k") }, &KVOp{Verb: KVSet, Key: "k2"}, false},
		{"prefix by a key under it", func(s *Store, ws *WatchSet) { s.KVList(ws, "p/") }, &KVOp{Verb: KVSet, Key: "p/q/r"}, true},
		{"prefix not by a sibling", func(s *Store, ws *WatchSet) { s.KVList(ws, "p/") }, &KVOp{Verb: KVSet, Key: "p"}, false},
		{"root prefix by anything", func(s *Store, ws *WatchSet) { s.KVList(ws, "") }, &KVOp{Verb: KVSet, Key: "zz"}, true},
		{"failed cas wakes nobody", func(s *Store, ws *WatchSet) { s.KVGet(ws, "k") }, &KVOp{Verb: KVCAS, Key: "k", Index: 99}, false},
		{"session list by create", func(s *Store, ws *WatchSet) { s.SessionList(ws) }, &SessionCreate{Session: Session{ID: "s2", Node: "n1"}}, true},
		{"session get not by other session", func(s *Store, ws *WatchSet) { s.SessionGet(ws, "s1") }, &SessionCreate{Session: Session{ID: "s2", Node: "n1"}}, false},
		{"node sessions by its node", func(s *Store, ws *WatchSet) { s.NodeSessions(ws, "n1") }, &SessionCreate{Session: Session{ID: "s2", Node: "n1"}}, true},
		{"node sessions not by another node", func(s *Store, ws *WatchSet) { s.NodeSessions(ws, "n2") }, &SessionCreate{Session: Session{ID: "s2", Node: "n1"}}, false},
		{"node checks by its check", func(s *Store, ws *WatchSet) { s.NodeChecks(ws, "n1") },
			&Register{Node: Node{Node: "n1", Address: "10.0.0.1"}, Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthWarning}}}, true},
		{"node checks not by another node", func(s *Store, ws *WatchSet) { s.NodeChecks(ws, "n2") },
			&Register{Node: Node{Node: "n1", Address: "10.0.0.1"}, Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthWarning}}}, false},
		{"unchanged re-register wakes nobody", func(s *Store, ws *WatchSet) { s.Nodes(ws); s.NodeChecks(ws, "n1") },
			&Register{Node: Node{Node: "n1", Address: "10.0.0.1"}, Checks: []Check{{CheckID: SerfCheckID, Name: SerfCheckName, Status: HealthPassing}}}, false},
		{"nodes by a new node", func(s *Store, ws *WatchSet) { s.Nodes(ws) }, &Register{Node: Node{Node: "n3"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.node("n1")
			h.node("n2")
			h.session("s1", "n1", nil)
			ws := NewWatchSet()
			tc.read(h.s, ws)
			h.apply(tc.write)
			require.Equal(t, tc.want, fired(ws))
		})
	}
}

func TestWatchRestoreFiresAll(t *testing.T) {
	h := newHarness(t)
	h.set("a", "1")
	var buf bytes.Buffer
	_, err := h.s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	ws1, ws2 := NewWatchSet(), NewWatchSet()
	h.s.KVGet(ws1, "unrelated")
	h.s.SessionList(ws2)
	written := NewWatchSet()
	h.s.KVGet(written, "a")
	h.set("a", "2")
	require.NoError(t, h.s.Restore(&buf))
	require.True(t, fired(ws1))
	require.True(t, fired(ws2))
	// Consul's abandon channel: the restore, not a write, woke them.
	require.True(t, ws1.Abandoned())
	require.True(t, ws2.Abandoned())
	ws1.Close()
	require.True(t, ws1.Abandoned(), "still after Close")
	after := NewWatchSet()
	h.s.KVGet(after, "a")
	require.False(t, after.Abandoned(), "watching the restored store")
	require.False(t, NewWatchSet().Abandoned(), "no watch")
	require.True(t, written.Abandoned(), "fired by a write, then the restore came too")
}

// Wait wakes a blocked reader and counts the wakeup; concurrent readers
// and a writer run under -race.
func TestWaitWakesAndCounts(t *testing.T) {
	h := newHarness(t)
	const readers = 50
	var wg sync.WaitGroup
	ready := make(chan struct{}, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := NewWatchSet()
			idx, _ := h.s.KVGet(ws, "k")
			ready <- struct{}{}
			if idx > 1 {
				return // the write already happened
			}
			assert.True(t, ws.Wait(context.Background()))
			_, e := h.s.KVGet(nil, "k")
			assert.NotNil(t, e)
		}()
	}
	for range readers {
		<-ready
	}
	h.set("k", "v")
	wg.Wait()
	require.Equal(t, uint64(readers), h.s.Stats().Wakeups)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ws := NewWatchSet()
	h.s.KVGet(ws, "k")
	h.s.KVList(ws, "x")
	h.s.SessionList(ws)
	require.False(t, ws.Wait(ctx), "cancelled, nothing fired (reflect.Select path)")
}

// The registry only holds what someone watches: entries go when fired, or
// when the last WatchSet holding them is waited on or closed.
func TestWatchRelease(t *testing.T) {
	h := newHarness(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	a, b := NewWatchSet(), NewWatchSet()
	h.s.KVGet(a, "k")
	h.s.KVGet(b, "k") // shares a's channel
	h.s.KVList(a, "p/")
	require.Equal(t, 2, h.s.watches.size())
	require.False(t, a.Wait(cancelled))
	require.Equal(t, 1, h.s.watches.size(), "k still held by b")
	b.Close()
	b.Close() // idempotent
	require.Equal(t, 0, h.s.watches.size())

	// A released-then-fired sequence: the fire removed the entry, the late
	// release must not remove a newer entry for the same key.
	c := NewWatchSet()
	h.s.KVGet(c, "k")
	h.set("k", "1")
	d := NewWatchSet()
	h.s.KVGet(d, "k")
	c.Close()
	require.Equal(t, 1, h.s.watches.size())
	h.set("k", "2")
	require.True(t, fired(d))
	require.Equal(t, 0, h.s.watches.size())
}

// Notify calls back once, on the first fire of any of the set's watches,
// counting a wakeup; Close before a fire cancels it; a set whose watch
// already fired calls back at once; a restore calls everyone back.
func TestWatchNotify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness, ws *WatchSet)
		act   func(h *harness, ws *WatchSet) // after Notify
		calls int
	}{
		{"write to the key", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x") },
			func(h *harness, _ *WatchSet) { h.set("a/x", "2") }, 1},
		{"two writes, one call", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x") },
			func(h *harness, _ *WatchSet) { h.set("a/x", "2"); h.set("a/x", "3") }, 1},
		{"other keys", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x") },
			func(h *harness, _ *WatchSet) { h.set("a/y", "2"); h.set("b", "2") }, 0},
		{"prefix and key, one call", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x"); h.s.KVList(ws, "a/") },
			func(h *harness, _ *WatchSet) { h.set("a/x", "2") }, 1},
		{"closed first", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x") },
			func(h *harness, ws *WatchSet) { ws.Close(); h.set("a/x", "2") }, 0},
		{"already fired", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x"); h.set("a/x", "2") },
			func(*harness, *WatchSet) {}, 1},
		{"restore", func(h *harness, ws *WatchSet) { h.s.KVGet(ws, "a/x") },
			func(h *harness, _ *WatchSet) { h.s.watches.fireAll() }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.set("a/x", "1")
			ws := NewWatchSet()
			other := NewWatchSet() // shares the entry, must not be disturbed
			h.s.KVGet(other, "a/x")
			tc.setup(h, ws)
			before := h.s.Stats().Wakeups
			calls := 0
			require.True(t, ws.Notify(func() { calls++ }))
			tc.act(h, ws)
			require.Equal(t, tc.calls, calls)
			require.Equal(t, before+uint64(tc.calls), h.s.Stats().Wakeups)
			ws.Close()
			other.Close()
			require.Zero(t, h.s.watches.size(), "every entry released")
		})
	}
	t.Run("refuses Add", func(t *testing.T) {
		ws := NewWatchSet()
		ws.Add(make(chan struct{}))
		require.False(t, ws.Notify(func() {}))
	})
}

// Many sets on one key unlink in any order, and a fire calls each
// remaining one exactly once.
func TestWatchNotifyMany(t *testing.T) {
	h := newHarness(t)
	h.set("k", "1")
	const n = 100
	calls := make([]int, n)
	sets := make([]*WatchSet, n)
	for i := range sets {
		sets[i] = NewWatchSet()
		h.s.KVGet(sets[i], "k")
		require.True(t, sets[i].Notify(func() { calls[i]++ }))
	}
	for i := 0; i < n; i += 3 { // close every third, from the middle of the list too
		sets[i].Close()
	}
	h.set("k", "2")
	for i := range sets {
		want := 1
		if i%3 == 0 {
			want = 0
		}
		require.Equal(t, want, calls[i], "set %d", i)
		sets[i].Close()
	}
	require.Zero(t, h.s.watches.size())
}
