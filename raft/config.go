package raft

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Config configures one Node. Time inside the core is counted in ticks; the
// driver calls Node.Tick every TickInterval. Consul's
// performance.raft_multiplier maps onto TickInterval (see Scaled).
type Config struct {
	// ID is this server's NodeID (the agent's node_id UUID).
	ID NodeID
	// TickInterval is the wall (or virtual) time between Tick calls. The core
	// never reads it; it is here so one Config states the ticks→ms mapping.
	TickInterval time.Duration
	// ElectionTicks is the minimum election timeout in ticks; each timeout
	// is drawn uniformly from [ElectionTicks, 2*ElectionTicks). Must be >
	// HeartbeatTicks.
	ElectionTicks int
	// HeartbeatTicks is the leader's heartbeat interval in ticks.
	HeartbeatTicks int
	// PreVote enables the PreVote phase (thesis §9.6).
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum within an election timeout, and makes followers ignore votes
	// while they have a live leader (needed for PreVote to protect leaders).
	CheckQuorum bool
	// MaxEntrySize bounds one proposal's data, bytes. At least 1 MiB.
	MaxEntrySize uint64
	// MaxMsgBytes bounds the entries carried by one MsgApp, bytes (at least
	// one entry is always sent).
	MaxMsgBytes uint64
	// MaxInflightMsgs bounds MsgApps in flight to one follower.
	MaxInflightMsgs int
	// MaxInflightBytes bounds entry bytes in flight to one follower (0: no
	// byte limit).
	MaxInflightBytes uint64
	// MaxUncommittedBytes bounds the leader's appended but uncommitted entry
	// bytes; Propose fails with ErrTooMuchUncommitted past it.
	MaxUncommittedBytes uint64
	// MaxApplyBytes bounds CommittedEntries bytes in one Ready.
	MaxApplyBytes uint64
	// CatchUpEntries: a non-voter is caught up when its match index is
	// within this many entries of the leader's last index for a whole
	// election timeout; the leader then promotes it (if AutoPromote).
	CatchUpEntries Index
	// AutoPromote makes the leader promote caught-up non-voters itself.
	AutoPromote bool
	// ApplyBeforeLocalDurable lets a leader hand out committed entries in
	// Ready.CommittedEntries before they are durable on its own disk
	// (thesis §10.2.1: an entry stored on a quorum of followers is
	// committed whether or not the leader has written it). Safe because
	// the state machine is in memory and rebuilt on restart from the disk,
	// which applies only up to the persisted commit index; it saves the
	// leader's fsync from the commit-to-apply path when the followers are
	// faster. Followers and candidates still apply only durable entries.
	// Default off.
	ApplyBeforeLocalDurable bool
	// Rand is the seeded randomness source for election timeouts. Required:
	// the core never touches global randomness.
	Rand *rand.Rand
	// Logger receives the core's log lines; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns LAN settings equal to Consul's with
// raft_multiplier=1: heartbeat 100 ms, election timeout 1000–2000 ms.
func DefaultConfig(id NodeID, r *rand.Rand) Config {
	return Config{
		ID:                  id,
		TickInterval:        100 * time.Millisecond,
		ElectionTicks:       10,
		HeartbeatTicks:      1,
		PreVote:             true,
		CheckQuorum:         true,
		MaxEntrySize:        1 << 20,
		MaxMsgBytes:         1 << 20,
		MaxInflightMsgs:     256,
		MaxInflightBytes:    32 << 20,
		MaxUncommittedBytes: 64 << 20,
		MaxApplyBytes:       16 << 20,
		CatchUpEntries:      128,
		AutoPromote:         true,
		Rand:                r,
	}
}

// SimConfig returns the settings the simulator and failover figures use:
// 15 ms ticks, election timeout 150–300 ms, heartbeat 45 ms.
func SimConfig(id NodeID, r *rand.Rand) Config {
	c := DefaultConfig(id, r)
	c.TickInterval = 15 * time.Millisecond
	c.ElectionTicks = 10
	c.HeartbeatTicks = 3
	return c
}

// Scaled returns c with TickInterval multiplied by m (Consul's
// performance.raft_multiplier).
func (c Config) Scaled(m int) Config {
	c.TickInterval *= time.Duration(m)
	return c
}

func (c *Config) validate() error {
	switch {
	case c.ID == None:
		return fmt.Errorf("raft: config: ID is empty")
	case c.HeartbeatTicks <= 0:
		return fmt.Errorf("raft: config: HeartbeatTicks must be > 0, got %d", c.HeartbeatTicks)
	case c.ElectionTicks <= c.HeartbeatTicks:
		return fmt.Errorf("raft: config: ElectionTicks (%d) must be > HeartbeatTicks (%d)", c.ElectionTicks, c.HeartbeatTicks)
	case c.MaxEntrySize < 1<<20:
		return fmt.Errorf("raft: config: MaxEntrySize must be >= 1 MiB, got %d", c.MaxEntrySize)
	case c.MaxMsgBytes == 0:
		return fmt.Errorf("raft: config: MaxMsgBytes must be > 0")
	case c.MaxInflightMsgs <= 0:
		return fmt.Errorf("raft: config: MaxInflightMsgs must be > 0, got %d", c.MaxInflightMsgs)
	case c.MaxUncommittedBytes < c.MaxEntrySize:
		return fmt.Errorf("raft: config: MaxUncommittedBytes (%d) must be >= MaxEntrySize (%d)", c.MaxUncommittedBytes, c.MaxEntrySize)
	case c.MaxApplyBytes == 0:
		return fmt.Errorf("raft: config: MaxApplyBytes must be > 0")
	case c.Rand == nil:
		return fmt.Errorf("raft: config: Rand is nil (the core needs a seeded source)")
	}
	return nil
}
