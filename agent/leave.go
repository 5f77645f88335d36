package agent

import (
	"context"
	"slices"
	"time"

	"github.com/agentd/agentd/raft"
)

// leaveTimeout bounds each step of a graceful leave.
const leaveTimeout = 5 * time.Second

// Leave leaves the cluster gracefully: the gossip pool hears the leave,
// then a server hands leadership away (if it leads) and has itself
// removed from the Raft configuration, so the remaining servers keep their
// quorum. The caller shuts the agent down afterwards.
func (a *Agent) Leave(ctx context.Context) error {
	if a.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*leaveTimeout)
	defer cancel()
	// Gossip first: once the pool sees us as left, the leader's reconcile
	// cannot add us back between our removal and our departure.
	if err := a.cluster.gossip.Leave(leaveTimeout); err != nil {
		a.log.Warn("leave: gossip leave", "error", err)
	}
	if err := a.leaveRaft(ctx); err != nil {
		a.log.Warn("leave: could not leave the Raft configuration", "error", err)
	}
	a.log.Info("left the cluster")
	return nil
}

func (a *Agent) leaveRaft(ctx context.Context) error {
	st, err := a.srv.drv.Status(ctx)
	if err != nil {
		return err
	}
	if len(st.Configuration.Servers) <= 1 {
		return nil
	}
	if st.SoftState.Role == raft.Leader {
		for _, s := range st.Configuration.Servers {
			if s.ID != a.srv.id && s.Suffrage == raft.Voter {
				if err := a.srv.drv.TransferLeadership(ctx, s.ID); err != nil {
					a.log.Warn("leave: leadership transfer failed", "to", s.ID, "error", err)
				}
				break
			}
		}
		deadline := time.Now().Add(leaveTimeout)
		for a.srv.drv.Leader().Role == raft.Leader && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // poll for the handover
		}
	}
	return a.removeSelf(ctx, st.Configuration.Servers)
}

// removeSelf has the leader remove this server from the Raft
// configuration. The leader's reconcile may have done so already, on
// hearing the gossip leave: this server then hears from no leader any more
// and removeServer would wait rpcHoldTimeout for one. So the other servers
// are asked first which of them leads and whether it still names this one.
func (a *Agent) removeSelf(ctx context.Context, servers []raft.Server) error {
	for _, s := range servers {
		if s.ID == a.srv.id {
			continue
		}
		st, err := a.peerState(ctx, a.cluster, s.Address)
		if err != nil || st.ID == raft.None || st.Leader != st.ID {
			continue
		}
		if !slices.ContainsFunc(st.Servers, func(x raft.Server) bool { return x.ID == a.srv.id }) {
			return nil // removed already
		}
		_, err = a.cluster.tcp.Call(ctx, s.Address, rpcRemove, []byte(a.srv.id))
		return err
	}
	return a.removeServer(ctx, a.srv.id)
}
