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
// the prefix "". Closed channels leave the maps at once; a channel whose
// readers gave up stays until its key is written or the state restored.
type watchRegistry struct {
	mu     sync.Mutex
	exact  map[watchKey]chan struct{}
	prefix map[watchKey]chan struct{}
	// prefixLens[t][l] counts the prefix channels of length l in topic t.
	prefixLens [numTopics]map[int]int

	fires atomic.Uint64
	added atomic.Uint64
}

func newWatchRegistry() *watchRegistry {
	r := &watchRegistry{
		exact:  make(map[watchKey]chan struct{}),
		prefix: make(map[watchKey]chan struct{}),
	}
	for i := range r.prefixLens {
		r.prefixLens[i] = make(map[int]int)
	}
	return r
}

// get returns the channel closed by the next write to (tp, key), or to any
// key under it when prefix.
func (r *watchRegistry) get(tp topic, key string, prefix bool) <-chan struct{} {
	r.added.Add(1)
	wk := watchKey{tp, key}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.exact
	if prefix {
		m = r.prefix
	}
	ch, ok := m[wk]
	if !ok {
		ch = make(chan struct{})
		m[wk] = ch
		if prefix {
			r.prefixLens[tp][len(key)]++
		}
	}
	return ch
}

func (r *watchRegistry) fire(changes []change) {
	if len(changes) == 0 {
		return
	}
	var n uint64
	r.mu.Lock()
	for _, c := range changes {
		wk := watchKey{c.topic, c.key}
		if ch, ok := r.exact[wk]; ok {
			close(ch)
			delete(r.exact, wk)
			n++
		}
		lens := r.prefixLens[c.topic]
		for l := range lens {
			if l > len(c.key) {
				continue
			}
			wk := watchKey{c.topic, c.key[:l]}
			if ch, ok := r.prefix[wk]; ok {
				close(ch)
				delete(r.prefix, wk)
				if lens[l]--; lens[l] == 0 {
					delete(lens, l)
				}
				n++
			}
		}
	}
	r.mu.Unlock()
	r.fires.Add(n)
}

// fireAll closes every channel (restore: any answer may have changed).
func (r *watchRegistry) fireAll() {
	r.mu.Lock()
	n := uint64(len(r.exact) + len(r.prefix))
	for _, ch := range r.exact {
		close(ch)
	}
	for _, ch := range r.prefix {
		close(ch)
	}
	r.exact = make(map[watchKey]chan struct{})
	r.prefix = make(map[watchKey]chan struct{})
	for i := range r.prefixLens {
		r.prefixLens[i] = make(map[int]int)
	}
	r.mu.Unlock()
	r.fires.Add(n)
}

func (r *watchRegistry) counters() (fires, added uint64) {
	return r.fires.Load(), r.added.Load()
}

// WatchSet collects the channels of one blocking query's reads. Pass it to
// read methods (nil means "don't watch"), then Wait. Not safe for
// concurrent use; use a new one per query iteration.
type WatchSet struct {
	chans   []<-chan struct{}
	wakeups *atomic.Uint64 // the store's counter, set by its first read
}

// NewWatchSet returns an empty set.
func NewWatchSet() *WatchSet { return &WatchSet{} }

// Add adds a channel of the caller's (e.g. shutdown, leadership lost): Wait
// returns true when it is closed or receives.
func (ws *WatchSet) Add(ch <-chan struct{}) { ws.add(ch, nil) }

func (ws *WatchSet) add(ch <-chan struct{}, wakeups *atomic.Uint64) {
	if wakeups != nil {
		ws.wakeups = wakeups
	}
	for _, c := range ws.chans {
		if c == ch {
			return
		}
	}
	ws.chans = append(ws.chans, ch)
}

// Len is the number of distinct channels in the set.
func (ws *WatchSet) Len() int { return len(ws.chans) }

// Wait blocks until a channel in the set fires (true) or ctx is done
// (false). An empty set waits for ctx.
func (ws *WatchSet) Wait(ctx context.Context) bool {
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
