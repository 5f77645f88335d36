package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/agentd/agentd/store"
)

// maintainCA is the leader's CA duty while connect.enabled: whenever the
// replicated store holds no CA configuration — a new cluster, or a
// snapshot restore of a state without one — it generates a root
// (ca.go) and proposes it with a check-and-set on "no configuration yet",
// so two leaders racing across an election store one root, never two.
// Otherwise it waits on the store's CA watch. It returns when ctx
// (leadership) ends.
func (a *Agent) maintainCA(ctx context.Context) {
	if !a.cfg.Connect.Enabled {
		return
	}
	for ctx.Err() == nil {
		ws := store.NewWatchSet()
		if _, cfg, _ := a.store.CARoots(ws); cfg != nil {
			ws.Wait(ctx) // releases ws
			continue
		}
		ws.Close()
		if err := a.bootstrapCA(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("connect: CA bootstrap failed; retrying", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(caRetryInterval):
			}
		}
	}
}

// caRetryInterval is the pause after a failed bootstrap proposal.
const caRetryInterval = time.Second

// bootstrapCA proposes a new configuration and root. A refusal because
// another leader's bootstrap committed first is success: the loop then
// finds that configuration.
func (a *Agent) bootstrapCA(ctx context.Context) error {
	clusterID := a.cfg.Connect.CA.ClusterID
	if clusterID == "" {
		clusterID = newUUID()
	}
	op, err := newCABootstrap(a.cfg.Connect, clusterID, rand.Reader, time.Now())
	if err != nil {
		return err
	}
	res, err := a.apply(ctx, op)
	if err != nil {
		return err
	}
	if res.Err != nil {
		if errors.Is(res.Err, store.ErrRejected) && strings.Contains(res.Err.Error(), "CA configuration changed") {
			return nil
		}
		return res.Err
	}
	a.log.Info("connect: CA initialized", "provider", op.Config.Provider, "cluster_id", clusterID,
		"root_id", op.Roots[0].ID, "index", res.Index)
	return nil
}
