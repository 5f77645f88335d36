package transport

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/agentd/agentd/internal/clock"
)

// TCPConfig configures a TCP transport.
type TCPConfig struct {
	// BindAddr is the listen address, e.g. "0.0.0.0:8300"; port 0 picks one
	// (see TCP.Addr).
	BindAddr string
	// StagingDir holds received snapshot streams until the Raft handler
	// installs or discards them. Created if missing; stale staged files
	// (a crash mid-stream) are removed at start.
	StagingDir string
	// Clock drives reconnect backoff and RPC connection idleness; nil means
	// the wall clock. Socket deadlines are always wall-clock (the kernel's).
	Clock clock.Clock
	// Logger receives connection errors at debug level; nil discards.
	Logger *slog.Logger

	// DialTimeout bounds one connection attempt.
	DialTimeout time.Duration
	// WriteTimeout bounds one buffered write (a batch of Raft frames, a
	// snapshot chunk, an RPC frame): a peer that does not drain its socket
	// for this long is treated as dead and the connection is closed.
	WriteTimeout time.Duration
	// ReadTimeout bounds reading one frame once its first byte arrived, and
	// the connection preamble: it defeats peers that trickle bytes.
	ReadTimeout time.Duration
	// IdleTimeout closes an inbound connection on which no frame started
	// for this long. RPC clients drop their pooled connection after half
	// of it without traffic, so that a call never races the server's close.
	IdleTimeout time.Duration
	// SnapshotAckTimeout bounds the wait, after the last snapshot byte, for
	// the receiver to make the staged file durable and hand it to Raft.
	SnapshotAckTimeout time.Duration

	// BackoffMin is the wait after the first failed dial or write to a
	// peer; each further consecutive failure doubles it up to BackoffMax.
	// Messages sent while a lane backs off are dropped and reported
	// unreachable (Raft retries them).
	BackoffMin, BackoffMax time.Duration

	// PriorityQueueLen and AppendQueueLen bound the messages waiting per
	// peer on each lane. A full queue drops the message (counted, and
	// reported unreachable) instead of blocking the Raft loop.
	PriorityQueueLen, AppendQueueLen int

	// MaxRPCBytes caps one RPC frame (request or response), bytes. Raft
	// frames are capped by raft.MaxMessageBytes.
	MaxRPCBytes uint32
	// MaxSnapshotBytes caps one received snapshot stream, bytes: it bounds
	// the staging disk a peer can fill.
	MaxSnapshotBytes int64
	// MaxConcurrentRPC bounds the calls a server runs at once on one
	// connection; further requests wait unread (TCP backpressure).
	MaxConcurrentRPC int
}

// DefaultTCPConfig returns production settings for bind and staging.
func DefaultTCPConfig(bind, stagingDir string) TCPConfig {
	return TCPConfig{
		BindAddr:           bind,
		StagingDir:         stagingDir,
		DialTimeout:        2 * time.Second,  // LAN peers answer in well under that
		WriteTimeout:       10 * time.Second, // 64 MiB MsgApp at >= 6.4 MB/s
		ReadTimeout:        10 * time.Second,
		IdleTimeout:        2 * time.Minute,
		SnapshotAckTimeout: time.Minute, // fsync of a large staged file
		BackoffMin:         20 * time.Millisecond,
		BackoffMax:         2 * time.Second, // about one Consul election timeout at multiplier 1
		PriorityQueueLen:   256,
		AppendQueueLen:     1024,
		MaxRPCBytes:        16 << 20, // > Consul's 512 KiB KV values and large txns
		MaxSnapshotBytes:   64 << 30,
		MaxConcurrentRPC:   256,
	}
}

func (c *TCPConfig) validate() error {
	switch {
	case c.BindAddr == "":
		return fmt.Errorf("transport: config: BindAddr is empty")
	case c.StagingDir == "":
		return fmt.Errorf("transport: config: StagingDir is empty")
	case c.DialTimeout <= 0, c.WriteTimeout <= 0, c.ReadTimeout <= 0, c.IdleTimeout <= 0, c.SnapshotAckTimeout <= 0:
		return fmt.Errorf("transport: config: DialTimeout, WriteTimeout, ReadTimeout, IdleTimeout and SnapshotAckTimeout must be > 0")
	case c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("transport: config: need 0 < BackoffMin (%v) <= BackoffMax (%v)", c.BackoffMin, c.BackoffMax)
	case c.PriorityQueueLen <= 0 || c.AppendQueueLen <= 0:
		return fmt.Errorf("transport: config: PriorityQueueLen and AppendQueueLen must be > 0")
	case c.MaxRPCBytes < rpcRequestFixed+maxMethodLen:
		return fmt.Errorf("transport: config: MaxRPCBytes must be >= %d, got %d", rpcRequestFixed+maxMethodLen, c.MaxRPCBytes)
	case c.MaxSnapshotBytes <= 0:
		return fmt.Errorf("transport: config: MaxSnapshotBytes must be > 0")
	case c.MaxConcurrentRPC <= 0:
		return fmt.Errorf("transport: config: MaxConcurrentRPC must be > 0")
	}
	return nil
}

// backoff returns the wait after failures consecutive failures (>= 1).
func (c *TCPConfig) backoff(failures int) time.Duration {
	d := c.BackoffMin
	for i := 1; i < failures && d < c.BackoffMax; i++ {
		d *= 2
	}
	return min(d, c.BackoffMax)
}
