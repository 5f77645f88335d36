package store

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
)

// topic is a namespace of watchable keys.
type topic uint8

const (
	topicKV          topic = iota // KV keys
	topicSessions                 // session IDs
	topicSessionNode              // node name: the sessions of that node
	topicNodes                    // node names
	topicServices                 // node name: the services on that node
	topicChecks                   // node name: the checks on that node
	topicCA                       // the CA configuration and roots (one key, "")
	topicAutopilot                // the autopilot configuration (one key, "")
	numTopics
)

type watchKey struct {
	topic topic
	key   string
}

// watchRegistry holds one channel per watched thing, shared by every reader
// watching it, and closes it when a write touches the thing. A write of key
// k in topic t closes:
//
//	exact[(t, k)]                                  one map lookup
//	prefix[(t, k[:l])] for each registered length l <= len(k)
//
// so its cost depends on the number of distinct watched prefix lengths,
// never on the number of watchers or watched keys. A table-level watch is
// the prefix "". Fired entries leave the maps at once; an entry whose
// readers all released it (WatchSet.Wait returned, or Close) leaves too, so
// the maps only hold what someone is watching.
type watchRegistry struct {
	mu     sync.Mutex
	exact  map[watchKey]*watchEntry
	prefix map[watchKey]*watchEntry
	// prefixLens[t][l] counts the prefix entries of length l in topic t.
	prefixLens [numTopics]map[int]int

	fires atomic.Uint64
	added atomic.Uint64
	// restores counts fireAll calls (restores), so that a woken set can
	// tell a restore from a write (WatchSet.Abandoned). Written under mu.
	restores atomic.Uint64
}

// watchEntry is one shared channel. refs counts WatchSets holding it;
// guarded by watchRegistry.mu, as are fired and notify.
type watchEntry struct {
	ch    chan struct{}
	refs  int
	fired bool // ch is closed
	// notify lists the callbacks of sets waiting with Notify, called once
	// when the entry fires (intrusive: a set unlinks its own in O(1)).
	notify *notifyLink
}

// notifyNode is one WatchSet.Notify: f runs at most once, whichever of
// the set's entries fires first.
type notifyNode struct {
	f       func()
	done    atomic.Bool // f was called or the set closed
	wakeups *atomic.Uint64
}

// notifyLink puts a notifyNode on one entry's list.
type notifyLink struct {
	n          *notifyNode
	prev, next *notifyLink
	e          *watchEntry // nil once unlinked; guarded by watchRegistry.mu
}

// link adds l to e's list; the caller holds the registry's mu.
func (e *watchEntry) link(l *notifyLink) {
	l.e, l.prev, l.next = e, nil, e.notify
	if e.notify != nil {
		e.notify.prev = l
	}
	e.notify = l
}

// unlink removes l from its entry's list, if still on one; the caller holds
// the registry's mu.
func (l *notifyLink) unlink() {
	e := l.e
	if e == nil {
		return
	}
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		e.notify = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	}
	l.e, l.prev, l.next = nil, nil, nil
}

// fireLocked closes e's channel and collects its callbacks into due; the
// caller holds the registry's mu and runs due after releasing it.
func (e *watchEntry) fireLocked(due []*notifyNode) []*notifyNode {
	close(e.ch)
	e.fired = true
	for l := e.notify; l != nil; {
		next := l.next
		if l.n.done.CompareAndSwap(false, true) {
			due = append(due, l.n)
		}
		l.e, l.prev, l.next = nil, nil, nil
		l = next
	}
	e.notify = nil
	return due
}

// runNotify calls the callbacks collected by fireLocked, each counted as a
// wakeup (what Wait counts when it returns true).
func runNotify(due []*notifyNode) {
	for _, n := range due {
		if n.wakeups != nil {
			n.wakeups.Add(1)
		}
		n.f()
	}
}

func newWatchRegistry() *watchRegistry {
	r := &watchRegistry{}
	r.reset()
	return r
}

func (r *watchRegistry) reset() {
	r.exact = make(map[watchKey]*watchEntry)
	r.prefix = make(map[watchKey]*watchEntry)
	for i := range r.prefixLens {
		r.prefixLens[i] = make(map[int]int)
	}
}

// get returns the entry whose channel the next write to (tp, key) — or to
// any key under it when prefix — closes, with a reference taken, and the
// restore count it belongs to.
func (r *watchRegistry) get(tp topic, key string, prefix bool) (*watchEntry, uint64) {
	r.added.Add(1)
	wk := watchKey{tp, key}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.exact
	if prefix {
		m = r.prefix
	}
	e, ok := m[wk]
	if !ok {
		e = &watchEntry{ch: make(chan struct{})}
		m[wk] = e
		if prefix {
			r.prefixLens[tp][len(key)]++
		}
	}
	e.refs++
	return e, r.restores.Load()
}

// release drops a reference (and unlinks the set's callback, if any); the
// last one removes a still-open entry.
func (r *watchRegistry) release(wk watchKey, prefix bool, e *watchEntry, l *notifyLink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l != nil {
		l.unlink()
	}
	if e.refs--; e.refs > 0 {
		return
	}
	m := r.exact
	if prefix {
		m = r.prefix
	}
	if m[wk] == e {
		r.remove(m, wk, prefix)
	}
}

// remove deletes m[wk]; the caller holds mu.
func (r *watchRegistry) remove(m map[watchKey]*watchEntry, wk watchKey, prefix bool) {
	delete(m, wk)
	if prefix {
		lens := r.prefixLens[wk.topic]
		if lens[len(wk.key)]--; lens[len(wk.key)] == 0 {
			delete(lens, len(wk.key))
		}
	}
}

func (r *watchRegistry) fire(changes []change) {
	if len(changes) == 0 {
		return
	}
	var n uint64
	var due []*notifyNode
	r.mu.Lock()
	for _, c := range changes {
		wk := watchKey{c.topic, c.key}
		if e, ok := r.exact[wk]; ok {
			due = e.fireLocked(due)
			r.remove(r.exact, wk, false)
			n++
		}
		for l := range r.prefixLens[c.topic] {
			if l > len(c.key) {
				continue
			}
			wk := watchKey{c.topic, c.key[:l]}
			if e, ok := r.prefix[wk]; ok {
				due = e.fireLocked(due)
				// Deleting the current key of the map being ranged over is
				// allowed.
				r.remove(r.prefix, wk, true)
				n++
			}
		}
	}
	r.mu.Unlock()
	r.fires.Add(n)
	runNotify(due)
}

// fireAll closes every channel (restore: any answer may have changed).
func (r *watchRegistry) fireAll() {
	var due []*notifyNode
	r.mu.Lock()
	r.restores.Add(1) // before any channel closes: the woken see it
	n := uint64(len(r.exact) + len(r.prefix))
	for _, e := range r.exact {
		due = e.fireLocked(due)
	}
	for _, e := range r.prefix {
		due = e.fireLocked(due)
	}
	r.reset()
	r.mu.Unlock()
	r.fires.Add(n)
	runNotify(due)
}

// size is the number of live entries (tests).
func (r *watchRegistry) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.exact) + len(r.prefix)
}

func (r *watchRegistry) counters() (fires, added uint64) {
	return r.fires.Load(), r.added.Load()
}

// WatchSet collects the channels of one blocking query's reads. Pass it to
// read methods (nil means "don't watch"), then Wait once; a set that will
// not be waited on should be Closed so the store can forget its watches
// sooner (otherwise they go when their keys are next written). Not safe for
// concurrent use; use a new one per query iteration.
type WatchSet struct {
	chans   []<-chan struct{}
	regs    []watchReg     // store watches to release
	added   int            // channels added with Add (not store watches)
	wakeups *atomic.Uint64 // the store's counter, set by its first read
	// reg and restores: the registry of the first watch and its restore
	// count then (Abandoned).
	reg      *watchRegistry
	restores uint64
}

// watchReg is one reference a WatchSet holds on a registry entry.
type watchReg struct {
	r      *watchRegistry
	wk     watchKey
	prefix bool
	e      *watchEntry
	link   notifyLink // on e's list while the set waits with Notify
}

// NewWatchSet returns an empty set.
func NewWatchSet() *WatchSet { return &WatchSet{} }

// Add adds a channel of the caller's (e.g. shutdown, leadership lost): Wait
// returns true when it is closed or receives.
func (ws *WatchSet) Add(ch <-chan struct{}) {
	ws.added++
	ws.addChan(ch)
}

func (ws *WatchSet) addChan(ch <-chan struct{}) {
	for _, c := range ws.chans {
		if c == ch {
			return
		}
	}
	ws.chans = append(ws.chans, ch)
}

// watch takes a reference on the registry's entry for (tp, key).
func (ws *WatchSet) watch(r *watchRegistry, tp topic, key string, prefix bool, wakeups *atomic.Uint64) {
	e, restores := r.get(tp, key, prefix)
	if ws.reg == nil {
		ws.reg, ws.restores = r, restores
	}
	ws.regs = append(ws.regs, watchReg{r: r, wk: watchKey{tp, key}, prefix: prefix, e: e})
	ws.wakeups = wakeups
	ws.addChan(e.ch)
}

// Close releases the set's store watches. Wait calls it; calling it again,
// or on a nil set, does nothing.
func (ws *WatchSet) Close() {
	if ws == nil {
		return
	}
	for i := range ws.regs {
		g := &ws.regs[i]
		g.r.release(g.wk, g.prefix, g.e, &g.link)
	}
	ws.regs = nil
}

// Notify is Wait without a goroutine: f runs once, when one of the set's
// store watches fires — in the writing goroutine, after the store's locks
// are released, so f must be quick (wake someone, don't read the store) —
// or at once, in the caller, if one already fired. Close cancels it (f
// may still run once if the write was already under way). Each call of f
// counts as a wakeup, as Wait's true does. The set is used once: call
// Close after f ran or when giving up. Notify refuses (false) a set with
// channels from Add, which only Wait can watch; a set with no store
// watches never calls f.
func (ws *WatchSet) Notify(f func()) bool {
	if ws.added > 0 {
		return false
	}
	n := &notifyNode{f: f, wakeups: ws.wakeups}
	fired := false
	for i := range ws.regs {
		g := &ws.regs[i]
		g.link.n = n
		g.r.mu.Lock()
		if g.e.fired {
			fired = true
		} else {
			g.e.link(&g.link)
		}
		g.r.mu.Unlock()
		if fired {
			break
		}
	}
	if fired && n.done.CompareAndSwap(false, true) {
		runNotify([]*notifyNode{n})
	}
	return true
}

// Abandoned reports whether a snapshot restore replaced the store since
// the set's first watch: Consul's abandon channel, on which a blocked
// query returns at once instead of reading again and waiting on (its
// index may now mean nothing). Valid after Wait or Close too.
func (ws *WatchSet) Abandoned() bool {
	return ws.reg != nil && ws.reg.restores.Load() != ws.restores
}

// Len is the number of distinct channels in the set.
func (ws *WatchSet) Len() int { return len(ws.chans) }

// Wait blocks until a channel in the set fires (true) or ctx is done
// (false), then releases the set's watches (Close). An empty set waits for
// ctx.
func (ws *WatchSet) Wait(ctx context.Context) bool {
	defer ws.Close()
	fired := ws.wait(ctx)
	if fired && ws.wakeups != nil {
		ws.wakeups.Add(1)
	}
	return fired
}

func (ws *WatchSet) wait(ctx context.Context) bool {
	switch len(ws.chans) {
	case 0:
		<-ctx.Done()
		return false
	case 1:
		select {
		case <-ws.chans[0]:
			return true
		case <-ctx.Done():
			return false
		}
	case 2:
		select {
		case <-ws.chans[0]:
			return true
		case <-ws.chans[1]:
			return true
		case <-ctx.Done():
			return false
		}
	}
	cases := make([]reflect.SelectCase, 0, len(ws.chans)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, ch := range ws.chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	i, _, _ := reflect.Select(cases)
	return i != 0
}
