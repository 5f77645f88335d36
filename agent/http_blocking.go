package agent

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/store"
)

// readFunc runs a read against the store, registering what it read on ws,
// and returns the result's index (the caller keeps the result itself).
type readFunc func(ws *store.WatchSet) (uint64, error)

// blockingQuery is a read with Consul's blocking-query semantics split in
// the two halves a parked query needs: read runs once per iteration and
// keeps its result in the caller's variables; render writes the answer of
// the last read. render runs once, after the last read, and never
// concurrently with it.
type blockingQuery struct {
	o      queryOptions
	read   readFunc
	render func(w http.ResponseWriter, m queryMeta) error
	// kv is set for a single-key KV GET, whose answers parked watchers of
	// the same key share (kvGetShape); nil otherwise.
	kv *kvGetShape
}

// blockingState is the agent's shared state for blocking queries.
type blockingState struct {
	// stopCtx is cancelled by Shutdown: every waiting query answers at once.
	// Waits derive their contexts from it, so that stopping needs neither
	// a goroutine per waiter nor a list of them.
	stopCtx context.Context
	stop    context.CancelFunc
	// ln takes parked queries' connections back (nil: parking is off, e.g.
	// before the HTTP server runs).
	ln *limitedListener
	// kvJSON shares the encoding of one KV entry among the watchers that one
	// write wakes together.
	kvJSON kvJSONCache
	// answers queues the parked queries whose answers are due, timers
	// holds their deadlines (http_park_answer.go, http_park_timers.go).
	answers *answerQueue
	timers  *parkTimers
	// idle is how long a parked connection whose answer was written waits
	// for its next request (parkIdleTimeout; tests shorten it).
	idle *atomic.Int64 // a time.Duration
}

func newBlockingState() blockingState {
	ctx, cancel := context.WithCancel(context.Background())
	idle := new(atomic.Int64)
	idle.Store(int64(parkIdleTimeout))
	return blockingState{stopCtx: ctx, stop: cancel, answers: newAnswerQueue(), timers: newParkTimers(), idle: idle}
}

// serveBlocking answers q on w. Without ?index it reads once. With it, the
// first read runs here; if it must wait, the connection is parked
// (http_park.go: no goroutine of net/http's left behind) when it can be,
// and otherwise the handler waits in place (blockingRead).
func (a *Agent) serveBlocking(w http.ResponseWriter, r *http.Request, q blockingQuery) error {
	if q.o.minIndex == 0 || !parkable(w, r) || a.blocking.ln == nil {
		meta, err := a.blockingRead(r, q.o, q.read)
		if err != nil {
			return err
		}
		return q.render(w, meta)
	}
	// The wait counts from the request's arrival, as blockingRead's does.
	deadline := time.Now().Add(blockingTimeout(q.o.wait))
	meta, ws, err := a.firstRead(r.Context(), q)
	if err != nil {
		return err
	}
	if ws == nil {
		return q.render(w, meta)
	}
	if a.park(w, r, q, ws, meta, deadline) {
		return nil // the parked query answers on the connection
	}
	// Not parked (hijack refused): wait here with the same deadline.
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	defer context.AfterFunc(a.blocking.stopCtx, cancel)()
	for ws.Wait(ctx) {
		if ws.Abandoned() {
			if meta, err = a.readFresh(r.Context(), q.o, q.read); err != nil {
				return err
			}
			break
		}
		if meta, err = a.readOnce(r.Context(), q.o, q.read, &ws); err != nil {
			return err
		}
		if meta.index > q.o.minIndex {
			ws.Close()
			break
		}
	}
	if err := r.Context().Err(); err != nil {
		return err // the client left: nobody to answer
	}
	return q.render(w, meta)
}

// firstRead is a blocking query's first run: the barrier, then the read
// under a new watch set. ws is nil when the answer is ready (the index is
// past ?index already); otherwise the query waits on ws.
func (a *Agent) firstRead(ctx context.Context, q blockingQuery) (queryMeta, *store.WatchSet, error) {
	if err := a.barrier(ctx, q.o.consistency); err != nil {
		return queryMeta{}, nil, err
	}
	return a.watchedRead(q)
}

// watchedRead runs q under a new watch set, returned for the wait; ws is
// nil (and the set closed) when the answer is ready or the read failed.
func (a *Agent) watchedRead(q blockingQuery) (queryMeta, *store.WatchSet, error) {
	ws := store.NewWatchSet()
	idx, err := q.read(ws)
	if err != nil {
		ws.Close()
		return queryMeta{}, nil, err
	}
	meta := a.queryMeta(idx, q.o.consistency)
	if idx > q.o.minIndex {
		ws.Close()
		return meta, nil, nil
	}
	return meta, ws, nil
}

// readFresh is the run after a snapshot restore woke a blocking query: it
// answers at once, whatever the index, as Consul's abandon channel makes
// it — but with the restored state, where Consul sends back its last
// result from the store that no longer exists. The index may now be lower
// than ?index: clients reset then (Consul's documented rule).
func (a *Agent) readFresh(ctx context.Context, o queryOptions, fn readFunc) (queryMeta, error) {
	if err := a.barrier(ctx, o.consistency); err != nil {
		return queryMeta{}, err
	}
	idx, err := fn(nil)
	if err != nil {
		return queryMeta{}, err
	}
	return a.queryMeta(idx, o.consistency), nil
}

// readOnce runs the consistency barrier and one read watched by a new set
// stored in *ws.
func (a *Agent) readOnce(ctx context.Context, o queryOptions, fn readFunc, ws **store.WatchSet) (queryMeta, error) {
	if err := a.barrier(ctx, o.consistency); err != nil {
		return queryMeta{}, err
	}
	*ws = store.NewWatchSet()
	idx, err := fn(*ws)
	if err != nil {
		(*ws).Close()
		return queryMeta{}, err
	}
	return a.queryMeta(idx, o.consistency), nil
}

// blockingRead runs a read with Consul's blocking-query semantics: with
// ?index=N it re-runs fn whenever something it read changes, until the
// index exceeds N or the wait (plus jitter) expires, and then reports the
// last run's index — unchanged if nothing changed. The consistency barrier
// is repeated before every run. Shutdown releases it at once. It waits in
// the handler's goroutine and starts none.
func (a *Agent) blockingRead(r *http.Request, o queryOptions, fn readFunc) (queryMeta, error) {
	ctx := r.Context()
	bctx := ctx
	if o.minIndex > 0 {
		var cancel context.CancelFunc
		bctx, cancel = context.WithTimeout(ctx, blockingTimeout(o.wait))
		defer cancel()
		defer context.AfterFunc(a.blocking.stopCtx, cancel)()
	}
	for {
		if err := a.barrier(ctx, o.consistency); err != nil {
			return queryMeta{}, err
		}
		var ws *store.WatchSet
		if o.minIndex > 0 {
			ws = store.NewWatchSet()
		}
		idx, err := fn(ws)
		if err != nil {
			ws.Close()
			return queryMeta{}, err
		}
		meta := a.queryMeta(idx, o.consistency)
		if o.minIndex == 0 || idx > o.minIndex {
			ws.Close()
			return meta, nil
		}
		if !ws.Wait(bctx) {
			// Timed out, shut down, or the client left: answer with what
			// we have (the unchanged index).
			return meta, ctx.Err()
		}
		if ws.Abandoned() {
			return a.readFresh(ctx, o, fn)
		}
	}
}

// boundedStaleRead is blockingRead for the catalog and health reads, with
// Consul's ?max_stale bound: a stale answer from a server that last heard
// from the leader longer ago than max_stale is run again once as a default
// read, and says so (Consul's RETRY_ONCE in its catalog and health
// handlers; its KV and session handlers have none).
func (a *Agent) boundedStaleRead(r *http.Request, o queryOptions, fn readFunc) (queryMeta, error) {
	meta, err := a.blockingRead(r, o, fn)
	if err == nil && o.consistency == ConsistencyStale && o.maxStale > 0 && meta.lastContact > o.maxStale {
		o.consistency, o.maxStale = ConsistencyLeader, 0
		return a.blockingRead(r, o, fn)
	}
	return meta, err
}

// queryMeta fills the headers' facts for a read served here: one look at
// the server's state (knownLeader and lastContact would take its lock
// twice more, per wake of every parked watcher).
//
// Only a ?stale read reports this server's own view. Consul forwards
// default and ?consistent reads to the leader, whose answer says
// KnownLeader true and LastContact 0 (agent/consul/rpc.go setQueryMeta);
// here the barrier before the read has just confirmed that leader (it
// leads, or answered this follower's ReadIndex), so the answer is the same.
// A stale read before this server heard from a leader is a default read
// too (readBarrier), and says so.
func (a *Agent) queryMeta(idx uint64, c Consistency) queryMeta {
	if c != ConsistencyStale || !a.srv.heard.Load() {
		return queryMeta{index: idx, knownLeader: true, consistency: c}
	}
	lead, ready, _ := a.srv.state()
	m := queryMeta{index: idx, knownLeader: lead != raft.None, consistency: c}
	if !ready {
		m.lastContact = time.Duration(a.srv.contact.Load()) // as server.lastContact
	}
	return m
}

// barrier is srv.readBarrier with its common case checked first: on the
// ready leader a default-consistency read needs nothing more, and
// waitLeader allocates a hold timer per call (two per wake of a parked
// query: 20,000 when one write wakes 10,000 watchers).
func (a *Agent) barrier(ctx context.Context, c Consistency) error {
	if c == ConsistencyLeader {
		if _, ready, _ := a.srv.state(); ready {
			return nil
		}
	}
	return a.srv.readBarrier(ctx, c)
}
