package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/swim"
)

// GET /v1/operator/autopilot/health and /v1/operator/autopilot/state: the
// leader's view of every Raft server, forwarded to the leader from a
// follower (rpcAutopilotHealth), as Consul's. A server is healthy when
// gossip has it alive, the leader heard from it recently (the leader
// itself, or Raft's recent-activity flag: within an election timeout,
// reported as LastContact 0 — agentd's leader does not time each
// follower's contact, a coarser figure than Consul's), and its log trails
// the leader's by at most MaxTrailingLogs. /health answers 429 when any
// server is unhealthy, as Consul's does.

// serverHealthJSON is Consul's api.ServerHealth.
type serverHealthJSON struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact jsonDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// healthReplyJSON is Consul's api.OperatorHealthReply.
type healthReplyJSON struct {
	Healthy          bool
	FailureTolerance int
	Servers          []serverHealthJSON
}

// healthSince remembers, per server, since when its health has been what
// it is now (StableSince).
type healthSince struct {
	mu    sync.Mutex
	state map[string]healthMark
}

type healthMark struct {
	healthy bool
	since   time.Time
}

// mark returns since when id has been healthy (or not), starting a new
// period when the state changed.
func (h *healthSince) mark(id string, healthy bool, now time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == nil {
		h.state = map[string]healthMark{}
	}
	m, ok := h.state[id]
	if !ok || m.healthy != healthy {
		m = healthMark{healthy: healthy, since: now}
		h.state[id] = m
	}
	return m.since
}

// autopilotHealth computes the reply on the leader.
func (a *Agent) autopilotHealth(ctx context.Context) (healthReplyJSON, error) {
	st, err := a.srv.drv.Status(ctx)
	if err != nil {
		return healthReplyJSON{}, err
	}
	if st.SoftState.Role != raft.Leader {
		return healthReplyJSON{}, errNoLeader
	}
	_, trailing := a.autopilotThresholds() // recent activity stands for the contact threshold (doc above)
	var members []swim.Member
	if a.cluster != nil {
		members = a.cluster.gossip.Members()
	}
	now := time.Now()
	out := healthReplyJSON{Healthy: true, Servers: []serverHealthJSON{}}
	voters, healthyVoters := 0, 0
	for _, s := range st.Configuration.Servers {
		h := serverHealthJSON{ID: string(s.ID), Name: "(unknown)", Address: s.Address, SerfStatus: "none",
			Leader: s.ID == st.ID, Voter: s.Suffrage == raft.Voter, LastTerm: uint64(st.HardState.Term)}
		if s.ID == a.srv.id {
			h.Name, h.SerfStatus, h.Version = a.cfg.NodeName, "alive", Version
		}
		for _, m := range members {
			if strings.EqualFold(m.Tags["id"], string(s.ID)) {
				h.Name, h.SerfStatus = m.Name, serfStatus(m.Status)
				h.Version, _, _ = strings.Cut(m.Tags["build"], ":")
			}
		}
		active := h.Leader
		if h.Leader {
			h.LastIndex = uint64(st.LastIndex)
		} else if p, ok := st.Progress[s.ID]; ok {
			h.LastIndex, active = uint64(p.Match), p.RecentActive
		}
		h.Healthy = h.SerfStatus == "alive" && active && uint64(st.LastIndex)-min(h.LastIndex, uint64(st.LastIndex)) <= trailing
		h.StableSince = a.healthSince.mark(h.ID, h.Healthy, now).UTC()
		if h.Voter {
			voters++
			if h.Healthy {
				healthyVoters++
			}
		}
		out.Healthy = out.Healthy && h.Healthy
		out.Servers = append(out.Servers, h)
	}
	sort.Slice(out.Servers, func(i, j int) bool { return out.Servers[i].Name < out.Servers[j].Name })
	out.FailureTolerance = max(healthyVoters-(voters/2+1), 0)
	return out, nil
}

func serfStatus(s swim.Status) string {
	switch s {
	case swim.StatusAlive:
		return "alive"
	case swim.StatusLeaving:
		return "leaving"
	case swim.StatusLeft:
		return "left"
	case swim.StatusFailed:
		return "failed"
	}
	return "none"
}

// leaderAutopilotHealth runs autopilotHealth on the leader, here or over
// the server RPC.
func (a *Agent) leaderAutopilotHealth(ctx context.Context) (healthReplyJSON, error) {
	addr, lead, err := a.leaderRaftAddr(ctx)
	if err != nil {
		return healthReplyJSON{}, err
	}
	if lead == a.srv.id {
		return a.autopilotHealth(ctx)
	}
	if a.cluster == nil {
		return healthReplyJSON{}, errNoLeader
	}
	b, err := a.cluster.tcp.Call(ctx, addr, rpcAutopilotHealth, nil)
	if err != nil {
		return healthReplyJSON{}, err
	}
	var out healthReplyJSON
	return out, json.Unmarshal(b, &out)
}

func (a *Agent) autopilotHealthHTTP(w http.ResponseWriter, r *http.Request) error {
	h, err := a.leaderAutopilotHealth(r.Context())
	if err != nil {
		return err
	}
	if !h.Healthy {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		return json.NewEncoder(w).Encode(h)
	}
	return writeJSON(w, h)
}

// autopilotServerJSON is Consul's api.AutopilotServer.
type autopilotServerJSON struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact jsonDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	StableSince time.Time
	ReadReplica bool
	Status      string
	Meta        map[string]string
	NodeType    string
}

// autopilotStateJSON is Consul's api.AutopilotState (CE: no redundancy
// zones, read replicas or upgrade state).
type autopilotStateJSON struct {
	Healthy                    bool
	FailureTolerance           int
	OptimisticFailureTolerance int
	Servers                    map[string]autopilotServerJSON
	Leader                     string
	Voters                     []string
	ReadReplicas               []string `json:",omitempty"`
}

func (a *Agent) autopilotStateHTTP(w http.ResponseWriter, r *http.Request) error {
	h, err := a.leaderAutopilotHealth(r.Context())
	if err != nil {
		return err
	}
	out := autopilotStateJSON{Healthy: h.Healthy, FailureTolerance: h.FailureTolerance,
		Servers: map[string]autopilotServerJSON{}, Voters: []string{}}
	voters := 0
	for _, s := range h.Servers {
		status := "non-voter"
		switch {
		case s.Leader:
			status, out.Leader = "leader", s.ID
		case s.Voter:
			status = "voter"
		}
		if s.Voter {
			out.Voters = append(out.Voters, s.ID)
			voters++
		}
		out.Servers[s.ID] = autopilotServerJSON{ID: s.ID, Name: s.Name, Address: s.Address,
			NodeStatus: s.SerfStatus, Version: s.Version, LastContact: s.LastContact, LastTerm: s.LastTerm,
			LastIndex: s.LastIndex, Healthy: s.Healthy, StableSince: s.StableSince, Status: status,
			Meta: map[string]string{"consul-network-segment": "", "consul-version": s.Version}, NodeType: "voter"}
	}
	sort.Strings(out.Voters)
	out.OptimisticFailureTolerance = max(voters-(voters/2+1), 0)
	return writeJSON(w, out)
}
