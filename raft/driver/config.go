package driver

import (
	"fmt"
	"log/slog"

	"github.com/agentd/agentd/raft"
)

// Config configures a Handler (and a Driver).
type Config struct {
	// Raft configures the core.
	Raft raft.Config
	// SnapshotThreshold: take a local snapshot once this many entries were
	// applied since the last one (Consul raft_snapshot_threshold: 16384).
	SnapshotThreshold raft.Index
	// TrailingLogs: entries kept in the log below a local snapshot so a
	// slightly lagging follower catches up from the log rather than by
	// InstallSnapshot (Consul raft_trailing_logs: 10240).
	TrailingLogs raft.Index
	// ReadTimeoutTicks fails a ReadIndex request not served within this many
	// ticks (0: 2 * Raft.ElectionTicks).
	ReadTimeoutTicks int
	// ReadContextBase: this process's ReadIndex contexts are
	// ReadContextBase+1, +2, ... A restarted node must not reuse an earlier
	// incarnation's contexts: the leader's late answer to the old process's
	// request would be taken for the new one's and serve it a stale read
	// index (found by the simulator with reads on followers: a follower
	// restarted within one term returned a value older than an
	// acknowledged write). Driver fills it from crypto/rand when zero; the
	// simulator passes its restart count << 32.
	ReadContextBase uint64
	// MaxPersistBatchBytes bounds the entry bytes merged into one disk job
	// (group commit); at least one Ready is always taken.
	MaxPersistBatchBytes uint64
	// OnFatal is called once, on the handler goroutine, when a LogStore or
	// SnapshotStore write fails; the handler has already stopped.
	// Production: log and exit; simulation: crash the node. Nil panics.
	OnFatal func(error)
	// OnSoftState observes leadership changes on the handler goroutine.
	OnSoftState func(raft.SoftState)
	// Tracer observes persists, applies and sends; nil disables tracing.
	Tracer Tracer
	// Logger receives the driver's log lines; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns Consul-like settings around rc.
func DefaultConfig(rc raft.Config) Config {
	return Config{
		Raft:                 rc,
		SnapshotThreshold:    16384,
		TrailingLogs:         10240,
		MaxPersistBatchBytes: 8 << 20,
	}
}

func (c *Config) validate() error {
	switch {
	case c.SnapshotThreshold == 0:
		return fmt.Errorf("driver: config: SnapshotThreshold must be > 0")
	case c.ReadTimeoutTicks < 0:
		return fmt.Errorf("driver: config: ReadTimeoutTicks must be >= 0, got %d", c.ReadTimeoutTicks)
	case c.MaxPersistBatchBytes == 0:
		return fmt.Errorf("driver: config: MaxPersistBatchBytes must be > 0")
	}
	return nil
}

func (c *Config) readTimeoutTicks() int {
	if c.ReadTimeoutTicks > 0 {
		return c.ReadTimeoutTicks
	}
	return 2 * c.Raft.ElectionTicks
}
