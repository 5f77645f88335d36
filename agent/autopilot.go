package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/swim"
)

// Dead-server cleanup, as Consul's autopilot (hashicorp/raft-autopilot
// pruneDeadServers): the leader removes servers that gossip reports failed,
// or that gossip does not know at all, from the Raft configuration, so a
// dead server stops counting toward the quorum. Servers that left are the
// reconcile loop's (removeLeftMember); a server leaving gracefully removes
// itself (Leave).
//
// Consul prunes at each autopilot pass (every 10 s) once serf has declared
// the member failed. agentd waits until the leader has seen the server
// failed for deadServerAfter without a break (a new leader starts
// counting afresh), checked every autopilotInterval.
//
// A removed server cannot come back under the same node ID: Raft IDs are
// never reused (raft/confchange.go). Restarted from its data dir it finds
// the leader's configuration without it and rejoins as a new server with
// a new node ID and empty Raft state (rejoin.go); Consul keeps the ID.
//
// Variables, not constants, so that tests can shorten them before they
// start agents.
var (
	autopilotInterval = 2 * time.Second  // Consul's server_health_interval
	deadServerAfter   = 10 * time.Second // Consul's autopilot pass interval
)

// autopilotConfig is what the cleanup needs; fields as config.Autopilot
// plus the timing above (tests shorten it).
type autopilotConfig struct {
	cleanupDeadServers bool
	minQuorum          int
	// deadAfter: how long a server must have been seen failed (or unknown
	// to gossip) before it is removed.
	deadAfter time.Duration
	// interval between passes.
	interval time.Duration
}

// serverHealth is one Raft server as gossip sees it.
type serverHealth int

const (
	serverAlive   serverHealth = iota
	serverFailed               // gossip says failed
	serverUnknown              // not in the gossip pool (stale)
	serverLeft                 // left or leaving: reconcile removes it
)

func (h serverHealth) String() string {
	switch h {
	case serverAlive:
		return "alive"
	case serverFailed:
		return "failed"
	case serverUnknown:
		return "unknown"
	case serverLeft:
		return "left"
	}
	return "serverHealth(?)"
}

// deadTracker remembers since when each server has been seen dead (failed
// or unknown) without a break. It belongs to one leadership.
type deadTracker struct {
	since map[raft.NodeID]time.Time
}

func newDeadTracker() *deadTracker { return &deadTracker{since: map[raft.NodeID]time.Time{}} }

// observe records the servers' health at now: a dead server keeps its first
// sighting, any other is forgotten (so a flapping server starts over).
func (d *deadTracker) observe(now time.Time, health map[raft.NodeID]serverHealth) {
	for id := range d.since {
		if h := health[id]; h != serverFailed && h != serverUnknown {
			delete(d.since, id)
		}
	}
	for id, h := range health {
		if (h == serverFailed || h == serverUnknown) && d.since[id].IsZero() {
			d.since[id] = now
		}
	}
}

// planDeadServerRemovals returns the servers to remove now, non-voters
// first, then voters by ID. A server qualifies once it has been dead for
// cfg.deadAfter; the leader (self) never does. At most (voters-1)/2 voters
// go in one pass, and none if fewer than cfg.minQuorum voters would remain:
// the remaining voters keep a majority of the configuration they leave.
func planDeadServerRemovals(conf raft.Configuration, self raft.NodeID, since map[raft.NodeID]time.Time, now time.Time, cfg autopilotConfig) []raft.NodeID {
	if !cfg.cleanupDeadServers {
		return nil
	}
	voters := 0
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	dead := func(s raft.Server) bool {
		t, ok := since[s.ID]
		return ok && s.ID != self && now.Sub(t) >= cfg.deadAfter
	}
	var nonvoters, deadVoters []raft.NodeID
	for _, s := range conf.Servers {
		switch {
		case !dead(s):
		case s.Suffrage == raft.Voter:
			deadVoters = append(deadVoters, s.ID)
		default:
			nonvoters = append(nonvoters, s.ID)
		}
	}
	slices.Sort(nonvoters)
	slices.Sort(deadVoters)
	out := nonvoters
	maxRemoval := (voters - 1) / 2
	for _, id := range deadVoters {
		if maxRemoval < 1 || voters-1 < cfg.minQuorum {
			break
		}
		out = append(out, id)
		maxRemoval--
		voters--
	}
	return out
}

// raftServerHealth maps each server in conf to its gossip health.
// Servers are matched by their "id" tag (the Raft ID).
func raftServerHealth(conf raft.Configuration, members []swim.Member) map[raft.NodeID]serverHealth {
	byID := map[raft.NodeID]swim.Status{}
	for _, m := range members {
		if m.Tags["role"] != "consul" || m.Tags["id"] == "" {
			continue
		}
		id := raft.NodeID(m.Tags["id"])
		// Node IDs are UUIDs: Consul compares them case-insensitively.
		for _, s := range conf.Servers {
			if strings.EqualFold(string(s.ID), string(id)) {
				id = s.ID
			}
		}
		// A restarted server is a new member under the same ID: alive wins.
		if prev, ok := byID[id]; !ok || prev != swim.StatusAlive {
			byID[id] = m.Status
		}
	}
	out := make(map[raft.NodeID]serverHealth, len(conf.Servers))
	for _, s := range conf.Servers {
		st, ok := byID[s.ID]
		switch {
		case !ok:
			out[s.ID] = serverUnknown
		case st == swim.StatusFailed:
			out[s.ID] = serverFailed
		case st == swim.StatusLeft || st == swim.StatusLeaving:
			out[s.ID] = serverLeft
		default:
			out[s.ID] = serverAlive
		}
	}
	return out
}

// runAutopilot prunes dead servers while this server leads (ctx).
func (a *Agent) runAutopilot(ctx context.Context, clk clock.Clock, cfg autopilotConfig) {
	a.seedAutopilot(ctx, cfg)
	tracker := newDeadTracker()
	for {
		a.autopilotPass(ctx, clk.Now(), tracker, a.effectiveAutopilot(cfg))
		wake := make(chan struct{})
		t := clk.AfterFunc(cfg.interval, func() { close(wake) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		}
	}
}

// autopilotPass observes gossip and removes the servers the plan names,
// one configuration change at a time.
func (a *Agent) autopilotPass(ctx context.Context, now time.Time, tracker *deadTracker, cfg autopilotConfig) {
	st, err := a.srv.drv.Status(ctx)
	if err != nil {
		return
	}
	conf := st.Configuration
	tracker.observe(now, raftServerHealth(conf, a.cluster.gossip.Members()))
	for _, id := range planDeadServerRemovals(conf, a.srv.id, tracker.since, now, cfg) {
		if ctx.Err() != nil {
			return
		}
		if err := a.srv.drv.RemoveServer(ctx, id); err != nil {
			a.log.Warn("autopilot: removing a dead server failed", "id", id, "error", err)
			return
		}
		a.log.Info("autopilot: removed a dead server from the Raft configuration", "id", id,
			"dead_for", now.Sub(tracker.since[id]).Round(time.Millisecond))
		delete(tracker.since, id)
		a.autopilotRemoved.Add(1)
		// As Consul's RemoveFailedServer: the member is force-left, so the
		// reconcile loop deregisters its catalog node.
		for _, m := range a.cluster.gossip.Members() {
			if m.Status == swim.StatusFailed && strings.EqualFold(m.Tags["id"], string(id)) {
				if err := a.cluster.gossip.ForceLeave(m.Name); err != nil {
					a.log.Warn("autopilot: force-leave failed", "member", m.Name, "error", err)
				}
			}
		}
	}
}

// autopilotConfigFrom is the cleanup's configuration for this agent.
func (a *Agent) autopilotConfigFrom() autopilotConfig {
	return autopilotConfig{
		cleanupDeadServers: a.cfg.Autopilot.CleanupDeadServers,
		minQuorum:          a.cfg.Autopilot.MinQuorum,
		deadAfter:          deadServerAfter,
		interval:           autopilotInterval,
	}
}
