package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/agentd/agentd/raft"
)

// POST /v1/operator/raft/transfer-leader[?id=ID]: the leader hands its
// leadership to the voter ID, or with no id to the voter whose log is
// furthest along, and the answer comes once the handover happened (or
// failed), as Consul's (hashicorp/raft's LeadershipTransfer future): a
// JSON {"Success": true}. A follower forwards the request to the leader
// over the server RPC.

// transferWait bounds the wait for the handover: the target campaigns at
// once (MsgTimeoutNow), so a few election timeouts are plenty.
const transferWait = 5 * time.Second

type transferResponse struct {
	Success bool
}

func (a *Agent) raftTransferLeader(w http.ResponseWriter, r *http.Request) error {
	id := raft.NodeID(r.URL.Query().Get("id"))
	addr, lead, err := a.leaderRaftAddr(r.Context())
	if err != nil {
		return err
	}
	if lead == a.srv.id {
		err = a.transferLeadership(r.Context(), id)
	} else if a.cluster == nil {
		err = errNoLeader
	} else {
		_, err = a.cluster.tcp.Call(r.Context(), addr, rpcTransfer, []byte(id))
	}
	if err != nil {
		return err
	}
	return writeJSON(w, transferResponse{Success: true})
}

// transferLeadership runs on the leader: it picks the target, starts the
// transfer and waits until this server no longer leads.
func (a *Agent) transferLeadership(ctx context.Context, id raft.NodeID) error {
	st, err := a.srv.drv.Status(ctx)
	if err != nil {
		return err
	}
	if st.SoftState.Role != raft.Leader {
		return errNoLeader
	}
	target, err := transferTarget(st, id)
	if err != nil {
		return err
	}
	if err := a.srv.drv.TransferLeadership(ctx, target); err != nil {
		return fmt.Errorf("leadership transfer to %s: %w", target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, transferWait)
	defer cancel()
	for a.srv.drv.Leader().Role == raft.Leader {
		select {
		case <-ctx.Done():
			return fmt.Errorf("leadership transfer to %s: timed out after %v", target, transferWait)
		case <-time.After(10 * time.Millisecond): // poll for the handover
		}
	}
	return nil
}

// transferTarget is id if it names another voter, else (id empty) the
// voter other than the leader with the highest match index.
func transferTarget(st raft.Status, id raft.NodeID) (raft.NodeID, error) {
	if id == st.ID {
		return raft.None, errors.New("cannot transfer leadership to the current leader")
	}
	best, bestMatch := raft.None, raft.Index(0)
	for _, s := range st.Configuration.Servers {
		if s.ID == st.ID {
			continue
		}
		if id != raft.None {
			if s.ID != id {
				continue
			}
			if s.Suffrage != raft.Voter {
				return raft.None, fmt.Errorf("server %s is not a voter", id)
			}
			return id, nil
		}
		if m := st.Progress[s.ID].Match; s.Suffrage == raft.Voter && (best == raft.None || m > bestMatch) {
			best, bestMatch = s.ID, m
		}
	}
	if id != raft.None {
		return raft.None, fmt.Errorf("id %q was not found in the Raft configuration", id)
	}
	if best == raft.None {
		return raft.None, errors.New("no other voter to transfer leadership to")
	}
	return best, nil
}
