package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTombstonesReapedAfterTTL(t *testing.T) {
	oldTTL, oldGran := tombstoneTTL, tombstoneGranularity
	tombstoneTTL, tombstoneGranularity = 100*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { tombstoneTTL, tombstoneGranularity = oldTTL, oldGran })
	a := startAgent(t)
	do(t, http.MethodPut, a.url("/v1/kv/p/a"), strings.NewReader("x"))
	do(t, http.MethodDelete, a.url("/v1/kv/p/a"), nil)
	n, idx := a.store.Tombstones()
	require.Equal(t, 1, n)
	deleted := time.Now()
	waitFor(t, 5*time.Second, func() bool { n, _ := a.store.Tombstones(); return n == 0 }, "tombstone reap")
	require.GreaterOrEqual(t, time.Since(deleted), tombstoneTTL-tombstoneGranularity)
	// The KV index never goes backwards.
	_, h, _ := do(t, http.MethodGet, a.url("/v1/kv/p/?recurse"), nil)
	require.NotEqual(t, "0", h.Get("X-Consul-Index"))
	require.GreaterOrEqual(t, a.store.KVTableIndex(), idx)
}

// TestDevLeaderReadyFast: a dev agent leads and serves reads well under a
// second after New.
func TestDevLeaderReadyFast(t *testing.T) {
	start := time.Now()
	a := startAgent(t)
	code, _, _ := do(t, http.MethodGet, a.url("/v1/kv/x"), nil)
	require.Equal(t, 404, code)
	require.Less(t, time.Since(start), 500*time.Millisecond)
}
