package agent

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// Consul's own Go client, blocking on every server of a 3-server cluster
// in each consistency mode (followers' default and consistent reads go
// through ReadIndex, so their parked answers are not the answerers'
// shared ones): every watcher wakes on each write with the new value and
// a later index, KnownLeader set; a wait with nothing written returns the
// same index. TestAPICluster runs it on its cluster.
func clusterParkedAPIClient(t *testing.T, c *apiCluster) {
	agents := c.agents
	kvl := c.cl.KV()
	_, err := kvl.Put(&api.KVPair{Key: "w/k", Value: []byte("0")}, nil)
	require.NoError(t, err)
	type watcher struct {
		kv   *api.KV
		opts api.QueryOptions
		idx  uint64
	}
	var ws []*watcher
	for _, a := range agents {
		for _, o := range []api.QueryOptions{{}, {AllowStale: true}, {RequireConsistent: true}} {
			w := &watcher{kv: apiClient(t, a).KV(), opts: o}
			waitFor(t, 10*time.Second, func() bool {
				p, meta, err := w.kv.Get("w/k", &w.opts)
				if err != nil || p == nil {
					return false
				}
				w.idx = meta.LastIndex
				return true
			}, "the key on every server")
			ws = append(ws, w)
		}
	}
	for round := 1; round <= 2; round++ {
		val := fmt.Sprint("v", round)
		added := func() (n uint64) {
			for _, a := range agents {
				n += a.store.Stats().WatchesAdded
			}
			return n
		}
		before := added()
		var wg sync.WaitGroup
		errs := make([]error, len(ws))
		for i, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := w.opts
				o.WaitIndex, o.WaitTime = w.idx, 10*time.Second
				p, meta, err := w.kv.Get("w/k", &o)
				switch {
				case err != nil:
					errs[i] = err
				case p == nil || string(p.Value) != val:
					errs[i] = fmt.Errorf("watcher %d: got %+v, want %s", i, p, val)
				case meta.LastIndex <= w.idx || !meta.KnownLeader:
					errs[i] = fmt.Errorf("watcher %d: index %d after %d, known leader %v", i, meta.LastIndex, w.idx, meta.KnownLeader)
				default:
					w.idx = meta.LastIndex
				}
			}()
		}
		waitFor(t, 10*time.Second, func() bool { return added() >= before+uint64(len(ws)) }, "every watcher blocked")
		_, err := kvl.Put(&api.KVPair{Key: "w/k", Value: []byte(val)}, nil)
		require.NoError(t, err)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "round %d", round)
		}
	}
	w := ws[len(ws)-1]
	o := w.opts
	o.WaitIndex, o.WaitTime = w.idx, 200*time.Millisecond
	_, meta, err := w.kv.Get("w/k", &o)
	require.NoError(t, err)
	require.Equal(t, w.idx, meta.LastIndex, "a wait that expires keeps the index")
}
