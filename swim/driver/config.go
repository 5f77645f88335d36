package driver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/swim"
)

// Config configures one Driver: one pool (LAN or WAN). A process running
// both pools runs two Drivers with distinct Transports and DataDirs.
type Config struct {
	// Swim is the core's configuration. Swim.Addr defaults to
	// Transport.Addr(); Swim.Incarnation and Swim.EventClock are raised
	// from the persisted state; Swim.TCPTimeout bounds every stream
	// (dial, write, read).
	Swim swim.Config
	// Transport carries the bytes. Required. The driver closes it on Stop.
	Transport Transport
	// Clock tells time and arms the core's deadline timer; nil means
	// clock.Real. Stream deadlines are wall-clock regardless (sockets only
	// know real time).
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger

	// Keys turns on encryption: base64 keys, the first primary. Ignored
	// (with a log line) when DataDir already holds a keyring, which
	// carries the run-time changes (Consul's `encrypt` behaves the same).
	Keys []string
	// KeyRand is the nonce source; nil means crypto/rand.Reader. Only a
	// test may set it, and never to a seeded simulation source.
	KeyRand io.Reader
	// AcceptPlaintext lets an encrypting driver take unencrypted messages
	// (Consul's verify_incoming = false), for turning encryption on in a
	// running pool. Off, plaintext is dropped and counted.
	AcceptPlaintext bool

	// DataDir holds the persisted state and keyring; "" disables
	// persistence. Give each pool its own.
	DataDir string
	// FS is the filesystem under DataDir; nil means vfs.OS.
	FS vfs.FS
	// RejoinAfterLeave makes a restarted node rejoin its persisted peers
	// even if it had left gracefully (Serf's option of the same name).
	RejoinAfterLeave bool

	// LeavePropagateDelay is how long Leave keeps the node running after
	// the leave message first went out, so that retransmissions reach
	// everyone before it stops answering probes (Serf's option of the
	// same name, 1s there). 0: stop waiting as soon as it went out once.
	LeavePropagateDelay time.Duration

	// OnEvent receives the core's events in order, on one goroutine of
	// its own. The queue in front of it is unbounded (a slow consumer
	// must not stall failure detection) and its depth is in Stats. nil:
	// events are not queued. Stop waits for the queue to drain.
	OnEvent func(swim.Event)

	// InboxSize bounds datagrams waiting for the core; beyond it they are
	// dropped and counted, as a full socket buffer would drop them.
	InboxSize int
	// MaxInboundStreams bounds concurrent inbound streams (push-pulls,
	// fallback probes); more are closed at once and counted.
	MaxInboundStreams int
	// MaxOutboundStreams bounds concurrent outbound streams; more are not
	// started and counted (the core retries what matters: join, probes).
	MaxOutboundStreams int
	// MaxStreamBytes bounds one stream frame, checked before allocating.
	MaxStreamBytes int
}

// Defaults, as memberlist's where it has one.
const (
	defaultInboxSize          = 1024
	defaultMaxInboundStreams  = 128 // memberlist maxPushPullRequests
	defaultMaxOutboundStreams = 128
	// A full push-pull (8 MiB, the core's cap) plus an envelope.
	defaultMaxStreamBytes = 8<<20 + 1024
)

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.FS == nil {
		c.FS = vfs.OS{}
	}
	if c.InboxSize == 0 {
		c.InboxSize = defaultInboxSize
	}
	if c.MaxInboundStreams == 0 {
		c.MaxInboundStreams = defaultMaxInboundStreams
	}
	if c.MaxOutboundStreams == 0 {
		c.MaxOutboundStreams = defaultMaxOutboundStreams
	}
	if c.MaxStreamBytes == 0 {
		c.MaxStreamBytes = defaultMaxStreamBytes
	}
	if c.Swim.Addr == "" && c.Transport != nil {
		c.Swim.Addr = c.Transport.Addr()
	}
}

func (c *Config) validate() error {
	switch {
	case c.Transport == nil:
		return errors.New("swim/driver: config: Transport is nil")
	case c.Swim.TCPTimeout <= 0:
		return fmt.Errorf("swim/driver: config: Swim.TCPTimeout must be > 0, got %v", c.Swim.TCPTimeout)
	case c.InboxSize < 1:
		return fmt.Errorf("swim/driver: config: InboxSize must be >= 1, got %d", c.InboxSize)
	case c.MaxInboundStreams < 1 || c.MaxOutboundStreams < 1:
		return fmt.Errorf("swim/driver: config: MaxInboundStreams and MaxOutboundStreams must be >= 1")
	case c.MaxStreamBytes < 1024:
		return fmt.Errorf("swim/driver: config: MaxStreamBytes must be >= 1024, got %d", c.MaxStreamBytes)
	}
	return nil
}
