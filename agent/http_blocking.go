package agent

import (
	"context"
	"net/http"

	"github.com/agentd/agentd/store"
)

// readFunc runs a read against the store, registering what it read on ws,
// and returns the result's index (the caller keeps the result itself).
type readFunc func(ws *store.WatchSet) (uint64, error)

// blockingRead runs a read with Consul's blocking-query semantics: with
// ?index=N it re-runs fn whenever something it read changes, until the
// index exceeds N or the wait (plus jitter) expires, and then reports the
// last run's index — unchanged if nothing changed. The consistency barrier
// is repeated before every run. Shutdown releases it at once.
func (a *Agent) blockingRead(r *http.Request, o queryOptions, fn readFunc) (queryMeta, error) {
	ctx := r.Context()
	bctx := ctx
	if o.minIndex > 0 {
		var cancel context.CancelFunc
		bctx, cancel = context.WithTimeout(ctx, blockingTimeout(o.wait))
		defer cancel()
		go func() {
			select {
			case <-a.stopc:
				cancel()
			case <-bctx.Done():
			}
		}()
	}
	for {
		if err := a.srv.readBarrier(ctx, o.consistency); err != nil {
			return queryMeta{}, err
		}
		var ws *store.WatchSet
		if o.minIndex > 0 {
			ws = store.NewWatchSet()
		}
		idx, err := fn(ws)
		if err != nil {
			return queryMeta{}, err
		}
		meta := a.queryMeta(idx, o.consistency)
		if o.minIndex == 0 || idx > o.minIndex {
			return meta, nil
		}
		if !ws.Wait(bctx) {
			// Timed out, shut down, or the client left: answer with what
			// we have (the unchanged index).
			return meta, ctx.Err()
		}
	}
}

// queryMeta fills the headers' facts for a read served here.
func (a *Agent) queryMeta(idx uint64, c Consistency) queryMeta {
	return queryMeta{
		index:       idx,
		knownLeader: a.srv.knownLeader(),
		lastContact: a.srv.lastContact(),
		consistency: c,
	}
}
