package store

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Store is the replicated state. Writes come only through Apply (the FSM)
// and Restore; reads may run on any goroutine at any time and see one
// consistent published version.
type Store struct {
	// mu serializes writers (Apply, Restore). Readers never take it.
	mu sync.Mutex
	// state is the published version. Invariant: a published *tables is
	// never modified again; writers build a new one and swap it in.
	state atomic.Pointer[tables]
	// watches hands out watch channels and closes them on writes.
	watches *watchRegistry

	applies atomic.Uint64
	wakeups atomic.Uint64
}

// New returns an empty store (applied index 0).
func New() *Store {
	s := &Store{}
	s.watches = newWatchRegistry()
	s.state.Store(newTables())
	return s
}

// AppliedIndex is the Raft index of the last applied command (or restored
// snapshot).
func (s *Store) AppliedIndex() uint64 { return s.state.Load().applied }

// Apply applies the command cmd (EncodeCommand's bytes) committed at Raft
// index. It is a pure function of (state, index, cmd): the leader's clock
// comes from the command. A command that does not decode, or that the state
// refuses, changes nothing but the applied index; the reason is in
// Result.Err. It never returns nil.
//
// Invariant: index > AppliedIndex() (panics otherwise).
func (s *Store) Apply(index uint64, cmd []byte) *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.state.Load()
	if index <= cur.applied {
		panic(fmt.Sprintf("store: apply index %d <= applied index %d", index, cur.applied))
	}
	s.applies.Add(1)
	res := &Result{Index: index}
	c, err := DecodeCommand(cmd)
	var x *tx
	if err != nil {
		res.Err = err
	} else {
		x = newTx(cur, index, c.Now)
		x.apply(c.Op, res)
	}
	if x == nil || res.Err != nil || (res.Txn != nil && len(res.Txn.Errors) > 0) {
		// Rolled back: only the applied index moves.
		x = newTx(cur, index, c.Now)
	}
	x.t.applied = index
	s.state.Store(x.t)
	if x.fireAll {
		s.watches.fireAll()
	} else {
		s.watches.fire(x.changes)
	}
	return res
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	fires, added := s.watches.counters()
	return Stats{
		Applies:      s.applies.Load(),
		WatchFires:   fires,
		Wakeups:      s.wakeups.Load(),
		WatchesAdded: added,
	}
}

// view registers ws on (tp, key) — exactly the key, or every key under it
// when prefix — and then loads the published state. Registering first
// means a write published after the load closes the channel: no lost
// wakeup (a write between the two only causes a spurious one).
func (s *Store) view(ws *WatchSet, tp topic, key string, prefix bool) *tables {
	if ws != nil {
		ws.watch(s.watches, tp, key, prefix, &s.wakeups)
	}
	return s.state.Load()
}
