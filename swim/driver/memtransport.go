package driver

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// MemNetwork is an in-memory network of transports, for running drivers
// without sockets. Datagrams are handed straight to the destination's
// Handler; streams are net.Pipe pairs. A closed transport's address
// swallows datagrams and refuses streams, like a stopped process.
type MemNetwork struct {
	mu    sync.Mutex               // guards nodes
	nodes map[string]*MemTransport // by address
}

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork { return &MemNetwork{nodes: map[string]*MemTransport{}} }

// Transport attaches a transport at addr (any unique string).
func (n *MemNetwork) Transport(addr string) (*MemTransport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.nodes[addr]; dup {
		return nil, fmt.Errorf("swim/driver: mem transport: address %s in use", addr)
	}
	t := &MemTransport{net: n, addr: addr}
	n.nodes[addr] = t
	return t, nil
}

func (n *MemNetwork) handler(addr string) Handler {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.nodes[addr]; ok {
		return t.handler()
	}
	return nil
}

// MemTransport is one endpoint of a MemNetwork.
type MemTransport struct {
	net  *MemNetwork
	addr string

	mu sync.Mutex // guards h and closed
	h  Handler
	// closed: detached from the network; h is never called again.
	closed bool
}

var errMemUnreachable = errors.New("swim/driver: mem transport: unreachable")

func (t *MemTransport) Addr() string { return t.addr }

func (t *MemTransport) Serve(h Handler) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return net.ErrClosed
	}
	t.h = h
	return nil
}

func (t *MemTransport) handler() Handler {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	return t.h
}

func (t *MemTransport) WritePacket(to string, p []byte) error {
	if t.handler() == nil {
		return net.ErrClosed
	}
	if h := t.net.handler(to); h != nil {
		h.HandlePacket(t.addr, p)
	}
	return nil // lost, as UDP would lose it
}

func (t *MemTransport) DialStream(to string, timeout time.Duration) (net.Conn, error) {
	if t.handler() == nil {
		return nil, net.ErrClosed
	}
	h := t.net.handler(to)
	if h == nil {
		return nil, fmt.Errorf("dial %s: %w", to, errMemUnreachable)
	}
	local, remote := net.Pipe()
	h.HandleStream(remote)
	return local, nil
}

// Close detaches the transport. Its address becomes free for a new one
// (a restart).
func (t *MemTransport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.net.mu.Lock()
	if t.net.nodes[t.addr] == t {
		delete(t.net.nodes, t.addr)
	}
	t.net.mu.Unlock()
	return nil
}
