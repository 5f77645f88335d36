package swim

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Config configures one Node. Durations are in the caller's time (real or
// virtual); the core only compares them with the now passed to each call.
// The presets carry memberlist's values (hashicorp/memberlist config.go).
type Config struct {
	// Name is this member's unique name (Consul's node name).
	Name string
	// Addr is this member's gossip address, "host:port", as peers reach it.
	Addr string
	// Tags is this member's initial metadata; encoded size at most
	// MaxTagsBytes.
	Tags map[string]string
	// Incarnation is the starting incarnation. A restarted node passes its
	// last persisted incarnation + 1 so its alive message beats the old
	// dead one (it would otherwise refute once it learns of it).
	Incarnation Incarnation
	// EventClock is the starting user-event Lamport clock. A restarted
	// node passes its persisted clock: user events older than it are
	// dropped as already delivered (Serf's eventMinTime), so gossip still
	// in flight is not replayed to the agent. 0 for a fresh node.
	EventClock LamportTime

	// ProbeInterval is the failure-detector period: one member is probed
	// per interval. Scaled by the awareness score (Lifeguard §4.1).
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct ping waits for its ack before the
	// indirect probes start. Must be < ProbeInterval. Scaled like it.
	ProbeTimeout time.Duration
	// IndirectChecks is how many members are asked to ping-req a target
	// that missed its direct ack (SWIM's k).
	IndirectChecks int
	// DisableStreamProbe turns off the fallback ping over a stream sent
	// alongside the indirect probes.
	DisableStreamProbe bool
	// SuspicionMult scales the minimum suspicion timeout:
	// min = SuspicionMult × max(1, log10(N)) × ProbeInterval. Also sets
	// the number of confirmations wanted, SuspicionMult−2.
	SuspicionMult int
	// SuspicionMaxTimeoutMult: a new suspicion starts at this multiple of
	// the minimum and shrinks toward it with confirmations (Lifeguard §4.2).
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier caps the probe scaling: score ∈ [0, max−1].
	AwarenessMaxMultiplier int
	// DisableLifeguard turns off the three Lifeguard extensions, giving
	// plain SWIM with memberlist's fixed suspicion timeout: the awareness
	// score stays 0, indirect probes ask for no nacks, a suspicion times
	// out at the minimum with no confirmations, and probes of a suspect do
	// not carry the suspicion (no buddy system). For comparison runs (the
	// simulator's Lifeguard on/off figures); never set in production.
	DisableLifeguard bool

	// RetransmitMult: each update is piggybacked
	// RetransmitMult × ⌈log10(N+1)⌉ times.
	RetransmitMult int
	// GossipNodes is how many random members receive a gossip packet each
	// GossipInterval.
	GossipNodes int
	// GossipInterval is the dissemination period (0 disables periodic
	// gossip; updates then ride only on probes and acks).
	GossipInterval time.Duration
	// GossipToTheDeadTime: dead/left members keep receiving gossip this
	// long after their state change, so they learn they were declared dead
	// and refute (partition healing).
	GossipToTheDeadTime time.Duration
	// PushPullInterval is the period of full-state exchange with a random
	// live member, scaled up beyond 32 members (pushPullScale). 0 disables.
	PushPullInterval time.Duration
	// PacketSize is the largest datagram, bytes; larger messages go over a
	// stream. Piggybacked compounds are packed to fit.
	PacketSize int
	// MinBroadcastQueue is the floor of the broadcast queue bound
	// max(MinBroadcastQueue, 2N); the oldest most-sent updates go first.
	MinBroadcastQueue int
	// MaxTagsBytes bounds the encoded tags of one member.
	MaxTagsBytes int
	// TCPTimeout is the driver's stream dial/read deadline. The core does
	// not use it; it lives here so one Config holds the timing.
	TCPTimeout time.Duration

	// JoinRetryInterval is the first delay before a Join that got no
	// push-pull reply is retried; it doubles up to 8× per attempt.
	JoinRetryInterval time.Duration
	// JoinMaxAttempts bounds Join attempts (0: retry until joined).
	JoinMaxAttempts int
	// ReconnectInterval is how often a random failed member is tried again
	// (push-pull), with probability failed/alive as Serf does. 0 disables.
	ReconnectInterval time.Duration
	// ReapFailedTimeout: a failed member is removed this long after it
	// failed (Consul's reconnect_timeout).
	ReapFailedTimeout time.Duration
	// ReapLeftTimeout: a left member is removed this long after it left
	// (Serf's tombstone timeout).
	ReapLeftTimeout time.Duration
	// DeadNodeReclaimTime: a name may move to a new address only after its
	// entry has been dead or left this long; before that the claim is a
	// conflict, counted and ignored.
	DeadNodeReclaimTime time.Duration

	// UserEventBuffer is how many Lamport times of user events are kept
	// for deduplication (Serf's EventBuffer).
	UserEventBuffer int
	// MaxUserEventBytes bounds an event's name+payload+filter.
	MaxUserEventBytes int

	// Rand is the seeded randomness (probe order, gossip targets, indirect
	// probers, initial stagger). Required.
	Rand *rand.Rand
	// Logger receives the core's log lines; nil discards them.
	Logger *slog.Logger
	// EmitSuspectEvents adds an EventSuspect to the event stream each
	// time this node starts suspecting a member. Off by default: Consul
	// shows suspects as alive; the simulator turns it on to count false
	// suspicions.
	EmitSuspectEvents bool
}

// LANConfig returns memberlist's DefaultLANConfig values.
func LANConfig(name, addr string, r *rand.Rand) Config {
	return Config{
		Name:                    name,
		Addr:                    addr,
		ProbeInterval:           1 * time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		AwarenessMaxMultiplier:  8,
		RetransmitMult:          4,
		GossipNodes:             3,
		GossipInterval:          200 * time.Millisecond,
		GossipToTheDeadTime:     30 * time.Second,
		PushPullInterval:        30 * time.Second,
		PacketSize:              1400,
		MinBroadcastQueue:       1024,
		MaxTagsBytes:            512,
		TCPTimeout:              10 * time.Second,
		JoinRetryInterval:       1 * time.Second,
		ReconnectInterval:       30 * time.Second,
		ReapFailedTimeout:       72 * time.Hour,
		ReapLeftTimeout:         24 * time.Hour,
		DeadNodeReclaimTime:     30 * time.Second,
		UserEventBuffer:         512,
		MaxUserEventBytes:       512,
		Rand:                    r,
	}
}

// WANConfig returns memberlist's DefaultWANConfig values.
func WANConfig(name, addr string, r *rand.Rand) Config {
	c := LANConfig(name, addr, r)
	c.ProbeInterval = 5 * time.Second
	c.ProbeTimeout = 3 * time.Second
	c.SuspicionMult = 6
	c.GossipNodes = 4
	c.GossipInterval = 500 * time.Millisecond
	c.GossipToTheDeadTime = 60 * time.Second
	c.PushPullInterval = 60 * time.Second
	c.TCPTimeout = 30 * time.Second
	return c
}

// LocalConfig returns memberlist's DefaultLocalConfig values (loopback).
func LocalConfig(name, addr string, r *rand.Rand) Config {
	c := LANConfig(name, addr, r)
	c.ProbeInterval = 1 * time.Second
	c.ProbeTimeout = 200 * time.Millisecond
	c.IndirectChecks = 1
	c.SuspicionMult = 3
	c.RetransmitMult = 2
	c.GossipInterval = 100 * time.Millisecond
	c.GossipToTheDeadTime = 15 * time.Second
	c.PushPullInterval = 15 * time.Second
	c.TCPTimeout = 1 * time.Second
	return c
}

// minPacketSize leaves room for a ping plus an alive message with full
// tags, so every single broadcast fits one datagram.
const minPacketSize = 1024

func (c *Config) validate() error {
	switch {
	case c.Name == "" || len(c.Name) > maxNameLen:
		return fmt.Errorf("swim: config: Name must be 1..%d bytes, got %q", maxNameLen, c.Name)
	case c.Addr == "" || len(c.Addr) > maxAddrLen:
		return fmt.Errorf("swim: config: Addr must be 1..%d bytes, got %q", maxAddrLen, c.Addr)
	case c.ProbeInterval <= 0:
		return fmt.Errorf("swim: config: ProbeInterval must be > 0, got %v", c.ProbeInterval)
	case c.ProbeTimeout <= 0 || c.ProbeTimeout >= c.ProbeInterval:
		return fmt.Errorf("swim: config: ProbeTimeout must be in (0, ProbeInterval=%v), got %v", c.ProbeInterval, c.ProbeTimeout)
	case c.IndirectChecks < 0:
		return fmt.Errorf("swim: config: IndirectChecks must be >= 0, got %d", c.IndirectChecks)
	case c.SuspicionMult < 1:
		return fmt.Errorf("swim: config: SuspicionMult must be >= 1, got %d", c.SuspicionMult)
	case c.SuspicionMaxTimeoutMult < 1:
		return fmt.Errorf("swim: config: SuspicionMaxTimeoutMult must be >= 1, got %d", c.SuspicionMaxTimeoutMult)
	case c.AwarenessMaxMultiplier < 1:
		return fmt.Errorf("swim: config: AwarenessMaxMultiplier must be >= 1, got %d", c.AwarenessMaxMultiplier)
	case c.RetransmitMult < 1:
		return fmt.Errorf("swim: config: RetransmitMult must be >= 1, got %d", c.RetransmitMult)
	case c.GossipNodes < 0:
		return fmt.Errorf("swim: config: GossipNodes must be >= 0, got %d", c.GossipNodes)
	case c.GossipInterval < 0 || c.PushPullInterval < 0 || c.ReconnectInterval < 0:
		return fmt.Errorf("swim: config: GossipInterval, PushPullInterval and ReconnectInterval must be >= 0")
	case c.PacketSize < minPacketSize:
		return fmt.Errorf("swim: config: PacketSize must be >= %d, got %d", minPacketSize, c.PacketSize)
	case c.MinBroadcastQueue < 1:
		return fmt.Errorf("swim: config: MinBroadcastQueue must be >= 1, got %d", c.MinBroadcastQueue)
	case c.MaxTagsBytes < 0 || c.MaxTagsBytes > 512:
		return fmt.Errorf("swim: config: MaxTagsBytes must be in [0, 512], got %d", c.MaxTagsBytes)
	case c.JoinRetryInterval <= 0:
		return fmt.Errorf("swim: config: JoinRetryInterval must be > 0, got %v", c.JoinRetryInterval)
	case c.JoinMaxAttempts < 0:
		return fmt.Errorf("swim: config: JoinMaxAttempts must be >= 0, got %d", c.JoinMaxAttempts)
	case c.ReapFailedTimeout <= 0 || c.ReapLeftTimeout <= 0:
		return fmt.Errorf("swim: config: ReapFailedTimeout and ReapLeftTimeout must be > 0")
	case c.DeadNodeReclaimTime < 0:
		return fmt.Errorf("swim: config: DeadNodeReclaimTime must be >= 0, got %v", c.DeadNodeReclaimTime)
	case c.UserEventBuffer < 1:
		return fmt.Errorf("swim: config: UserEventBuffer must be >= 1, got %d", c.UserEventBuffer)
	case c.MaxUserEventBytes < 0 || c.MaxUserEventBytes > 512:
		return fmt.Errorf("swim: config: MaxUserEventBytes must be in [0, 512], got %d", c.MaxUserEventBytes)
	case c.Rand == nil:
		return fmt.Errorf("swim: config: Rand is nil (the core needs a seeded source)")
	}
	if n := tagsSize(c.Tags); n > c.MaxTagsBytes {
		return fmt.Errorf("swim: config: Tags encode to %d bytes, more than MaxTagsBytes=%d", n, c.MaxTagsBytes)
	}
	return nil
}
