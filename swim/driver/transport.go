package driver

import (
	"net"
	"time"
)

// Transport moves raw bytes: datagrams and streams. It knows nothing of
// SWIM or encryption; the driver seals and opens envelopes around it.
// NetTransport is the real one (UDP + TCP on one port), MemNetwork the
// in-memory one for tests.
type Transport interface {
	// Addr is the "host:port" peers reach this transport at (UDP and TCP).
	Addr() string
	// Serve starts delivering inbound datagrams and streams to h. It is
	// called once and returns at once.
	Serve(h Handler) error
	// WritePacket sends one datagram. Delivery is best-effort.
	WritePacket(to string, p []byte) error
	// DialStream opens a stream to a peer within timeout.
	DialStream(to string, timeout time.Duration) (net.Conn, error)
	// Close stops delivery and releases the sockets. A call to h already
	// in flight may still land; h must tolerate it.
	Close() error
}

// Handler receives inbound traffic from a Transport. Both methods must
// return quickly: they run on the transport's receive goroutines.
type Handler interface {
	// HandlePacket gets one datagram from the given address. p is only
	// valid during the call (the transport reuses its buffer).
	HandlePacket(from string, p []byte)
	// HandleStream takes ownership of an accepted stream and must close
	// it.
	HandleStream(c net.Conn)
}
