package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
	swimdriver "github.com/agentd/agentd/swim/driver"
)

// TestOperatorKeyring: on an encrypted three-server pool the official
// client lists one key held and used by 3 nodes, installs a second
// everywhere, uses it, removes the first, and the pool keeps its members;
// removing the key in use is refused; a -dev agent has no keyring.
func TestOperatorKeyring(t *testing.T) {
	t.Parallel()
	k1, err := swimdriver.GenerateKey()
	require.NoError(t, err)
	k2, err := swimdriver.GenerateKey()
	require.NoError(t, err)
	agents := startTestClusterWith(t, 3, func(c *config.Config) { c.Encrypt = k1 })
	leaderOf(t, agents)
	op := apiClient(t, agents[1]).Operator()
	waitFor(t, 10*time.Second, func() bool {
		m, err := apiClient(t, agents[0]).Agent().Members(false)
		return err == nil && len(m) == 3
	}, "three members")

	list := func() *api.KeyringResponse {
		t.Helper()
		rs, err := op.KeyringList(nil)
		require.NoError(t, err)
		require.Len(t, rs, 2, "a server answers for the WAN and the LAN pool")
		require.True(t, rs[0].WAN)
		require.Equal(t, rs[0].Keys, rs[1].Keys)
		return rs[1]
	}
	r := list()
	require.Equal(t, 3, r.NumNodes)
	require.Equal(t, map[string]int{k1: 3}, r.Keys)
	require.Equal(t, map[string]int{k1: 3}, r.PrimaryKeys)

	require.NoError(t, op.KeyringInstall(k2, nil))
	require.Equal(t, map[string]int{k1: 3, k2: 3}, list().Keys)
	require.NoError(t, op.KeyringUse(k2, nil))
	require.Equal(t, map[string]int{k2: 3}, list().PrimaryKeys)
	err = op.KeyringRemove(k2, nil)
	require.ErrorContains(t, err, "3/3 nodes reported failure")
	require.NoError(t, op.KeyringRemove(k1, nil))
	require.Equal(t, map[string]int{k2: 3}, list().Keys)
	for _, a := range agents {
		require.Equal(t, []string{k2}, a.cluster.gossip.Keyring().List(), a.cfg.NodeName)
	}
	// The pool still talks: a write through a follower reaches all.
	_, err = apiClient(t, agents[2]).KV().Put(&api.KVPair{Key: "after-rotation", Value: []byte("ok")}, nil)
	require.NoError(t, err)

	code, _, body := do(t, http.MethodPost, agents[0].url("/v1/operator/keyring"), strings.NewReader(`{"Key":"short"}`))
	require.Equal(t, http.StatusBadRequest, code, body)

	dev := startAgent(t)
	_, err = apiClient(t, dev).Operator().KeyringList(nil)
	require.ErrorContains(t, err, "encryption is not enabled")
}
