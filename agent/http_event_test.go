package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// TestEventsDev: fire and list through the official client on a -dev
// agent; the list's index is the client's IDToIndex of the last event; a
// blocking list waits for the next event; node filters apply; bad filters
// are Consul's 400s.
func TestEventsDev(t *testing.T) {
	t.Parallel()
	a := startAgent(t)
	ev := apiClient(t, a).Event()

	list, meta, err := ev.List("", nil)
	require.NoError(t, err)
	require.Empty(t, list)
	require.Equal(t, uint64(1), meta.LastIndex, "an empty list answers index 1")

	id, _, err := ev.Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v1")}, nil)
	require.NoError(t, err)
	list, meta, err = ev.List("deploy", nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)
	require.Equal(t, "v1", string(list[0].Payload))
	require.Equal(t, 1, list[0].Version)
	require.Equal(t, ev.IDToIndex(id), meta.LastIndex)
	require.Equal(t, uint64(1), list[0].LTime, "Serf's event clock starts at 1")

	woke := make(chan []*api.UserEvent, 1)
	go func() {
		l, _, err := ev.List("", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
		if err == nil {
			woke <- l
		}
		close(woke)
	}()
	_, _, err = ev.Fire(&api.UserEvent{Name: "other", NodeFilter: "^nope$"}, nil) // not for this node: no wake
	require.NoError(t, err)
	id2, _, err := ev.Fire(&api.UserEvent{Name: "restart", NodeFilter: "^" + a.cfg.NodeName + "$"}, nil)
	require.NoError(t, err)
	l := <-woke
	require.Len(t, l, 2)
	require.Equal(t, id2, l[1].ID)
	require.Greater(t, l[1].LTime, l[0].LTime)

	code, _, body := do(t, http.MethodPut, a.url("/v1/event/fire/x?tag=a"), nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "Cannot provide tag filter without service filter", strings.TrimSpace(body))
	code, _, _ = do(t, http.MethodPut, a.url("/v1/event/fire/x?node=("), nil)
	require.Equal(t, http.StatusBadRequest, code)
	code, _, body = do(t, http.MethodPut, a.url("/v1/event/fire/"), nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "Missing name", strings.TrimSpace(body))
}

// TestEventsCluster: an event fired on one server reaches every server's
// list through gossip, and one with a node filter reaches the named server
// (that the others drop it is TestEventsDev's filter check).
func TestEventsCluster(t *testing.T) {
	t.Parallel()
	agents := startTestCluster(t, 3)
	first := apiClient(t, agents[0]).Event()
	id, _, err := first.Fire(&api.UserEvent{Name: "all", Payload: []byte("p")}, nil)
	require.NoError(t, err)
	target := agents[2].cfg.NodeName
	only, _, err := first.Fire(&api.UserEvent{Name: "one", NodeFilter: "^" + target + "$"}, nil)
	require.NoError(t, err)
	for _, a := range agents {
		ev := apiClient(t, a).Event()
		waitFor(t, 10*time.Second, func() bool {
			l, _, err := ev.List("all", nil)
			return err == nil && len(l) == 1 && l[0].ID == id && string(l[0].Payload) == "p"
		}, "the event on "+a.cfg.NodeName)
		l, _, err := ev.List("all", nil)
		require.NoError(t, err)
		// Serf's clocks start at 1 and a join's push-pull witnesses the
		// others' (moving past them): never 0.
		require.GreaterOrEqual(t, l[0].LTime, uint64(2))
		if a.cfg.NodeName == target {
			waitFor(t, 10*time.Second, func() bool {
				l, _, err := ev.List("one", nil)
				return err == nil && len(l) == 1 && l[0].ID == only
			}, "the filtered event on its node")
		}
	}
}
