package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/store"
)

// A session on a node (linked to serfHealth by default) is invalidated
// when the node's gossip check goes critical: a server killed without
// leaving loses its locks once gossip declares it failed, before the
// dead-server cleanup removes the node (Consul: "gossip failure releases
// locks"). A session with no checks survives.
func TestClusterSerfHealthCriticalInvalidatesSessions(t *testing.T) {
	agents := startTestCluster(t, 3)
	leader := leaderOf(t, agents)
	var victim, other *Agent
	for _, a := range agents {
		if a != leader {
			if victim == nil {
				victim = a
			} else {
				other = a
			}
		}
	}
	c := apiClient(t, other)
	node := victim.cfg.NodeName
	waitFor(t, 10*time.Second, func() bool {
		checks, _, err := c.Health().Node(node, nil)
		return err == nil && len(checks) == 1 && checks[0].Status == api.HealthPassing
	}, "the victim's passing serfHealth")

	linked, _, err := c.Session().Create(&api.SessionEntry{Node: node, Behavior: api.SessionBehaviorRelease, LockDelay: time.Nanosecond}, nil)
	require.NoError(t, err)
	info, _, err := c.Session().Info(linked, nil)
	require.NoError(t, err)
	require.Equal(t, []string{store.SerfCheckID}, info.NodeChecks, "serfHealth by default")
	// The api client omits empty check lists; an explicit [] means none.
	code, _, body := do(t, http.MethodPut, other.url("/v1/session/create"), strings.NewReader(`{"Node":"`+node+`","NodeChecks":[]}`))
	require.Equal(t, 200, code, body)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	unlinked := created.ID
	info, _, err = c.Session().Info(unlinked, nil)
	require.NoError(t, err)
	require.Empty(t, info.NodeChecks)
	ok, _, err := c.KV().Acquire(&api.KVPair{Key: "svc/leader", Value: []byte("victim"), Session: linked}, nil)
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, victim.Shutdown(context.Background())) // a crash to the others
	waitFor(t, 30*time.Second, func() bool {
		s, _, err := c.Session().Info(linked, nil)
		return err == nil && s == nil
	}, "the linked session invalidated")
	// It was the critical check, not a deregistration, that did it.
	checks, _, err := c.Health().Node(node, nil)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	require.Equal(t, api.HealthCritical, checks[0].Status)

	p, _, err := c.KV().Get("svc/leader", nil)
	require.NoError(t, err)
	require.Empty(t, p.Session, "the lock is released")
	require.Equal(t, "victim", string(p.Value), "release behaviour keeps the key")
	s, _, err := c.Session().Info(unlinked, nil)
	require.NoError(t, err)
	require.NotNil(t, s, "a session without checks is not tied to gossip")
}
