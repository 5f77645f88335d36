package agent

import (
	"context"
	"time"

	"github.com/agentd/agentd/store"
)

// Tombstone reaping, as Consul's tombstone GC: a delete leaves a tombstone
// so that prefix indexes never go backwards and deletes wake watchers; the
// leader reaps tombstones once they are older than tombstoneTTL, checking
// every tombstoneGranularity (which batches reaps into few Raft writes).
var (
	tombstoneTTL         = 15 * time.Minute
	tombstoneGranularity = 30 * time.Second
)

// tombstoneSample: at time at, every tombstone had index <= idx.
type tombstoneSample struct {
	at  time.Time
	idx uint64
}

// reapTombstones runs while this server leads. Samples are taken on the
// leader's clock only; a new leader starts afresh, so a tombstone lives at
// least tombstoneTTL after the delete (longer across a failover).
func (a *Agent) reapTombstones(ctx context.Context) {
	tick := time.NewTicker(tombstoneGranularity)
	defer tick.Stop()
	var samples []tombstoneSample
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if _, maxIdx := a.store.Tombstones(); maxIdx > 0 && (len(samples) == 0 || maxIdx > samples[len(samples)-1].idx) {
				samples = append(samples, tombstoneSample{at: now, idx: maxIdx})
			}
			var reap uint64
			for len(samples) > 0 && now.Sub(samples[0].at) >= tombstoneTTL {
				reap = samples[0].idx
				samples = samples[1:]
			}
			if reap == 0 {
				continue
			}
			if res, err := a.apply(ctx, &store.TombstoneReap{Index: reap}); err != nil || res.Err != nil {
				a.log.Warn("tombstone reap failed; retrying at the next tick", "index", reap, "error", err)
				samples = append([]tombstoneSample{{at: now.Add(-tombstoneTTL), idx: reap}}, samples...)
				continue
			}
			a.log.Debug("tombstones reaped", "index", reap)
		}
	}
}
