package driver

import (
	"context"
	"time"

	"github.com/agentd/agentd/raft"
)

// leaderContact remembers when the leader was last heard from, in ticks,
// for Consul's X-Consul-LastContact (a ?stale reader's measure of how old
// a follower's data may be).
type leaderContact struct {
	tick  uint64 // h.ticks when the last message from the leader was stepped
	heard bool   // a leader has been heard from at all
}

// noteContact records m if it came from the leader as this node knows it
// (AppendEntries, heartbeat or snapshot: only a leader sends them).
func (h *Handler) noteContact(m raft.Message) {
	switch m.Type {
	case raft.MsgApp, raft.MsgHeartbeat, raft.MsgSnap:
		if m.From == h.soft.Lead {
			h.contact = leaderContact{tick: h.ticks, heard: true}
		}
	}
}

// LastContact returns how long ago the leader was last heard from,
// measured in ticks of interval: 0 on the leader, known false when no
// leader was ever heard from.
func (h *Handler) LastContact(interval time.Duration) (since time.Duration, known bool) {
	if h.soft.Role == raft.Leader {
		return 0, true
	}
	if !h.contact.heard {
		return 0, false
	}
	return time.Duration(h.ticks-h.contact.tick) * interval, true
}

// LastContact returns how long ago this node last heard from its leader
// (tick resolution; 0 on the leader); known is false if it never did.
func (d *Driver) LastContact(ctx context.Context) (since time.Duration, known bool, err error) {
	err = d.call(ctx, func() { since, known = d.h.LastContact(d.h.cfg.Raft.TickInterval) })
	return since, known, err
}
