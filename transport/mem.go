package transport

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/raft/driver"
)

// Receiver is what a Mem endpoint delivers to (driver.Driver implements
// it). Its methods must not block for long. Deliver takes payload over:
// transports pass a buffer they never touch again (the decoded message
// aliases it).
type Receiver interface {
	Deliver(payload []byte)
	DeliverSnapshot(m raft.Message, staged driver.Staged)
	ReportUnreachable(id raft.NodeID)
}

// MemNetwork is a set of in-process endpoints keyed by address. Safe for
// concurrent use.
type MemNetwork struct {
	dir string // where snapshot streams are staged

	mu  sync.Mutex
	eps map[string]Receiver // guarded by mu
	// cut holds addresses whose traffic (both directions) is dropped.
	cut map[string]bool // guarded by mu
	wg  sync.WaitGroup  // snapshot streams in flight
}

// NewMemNetwork returns an empty network that stages snapshots in dir.
func NewMemNetwork(dir string) *MemNetwork {
	return &MemNetwork{dir: dir, eps: make(map[string]Receiver), cut: make(map[string]bool)}
}

// Register attaches r at addr (replacing any previous receiver, e.g. after
// a restart).
func (n *MemNetwork) Register(addr string, r Receiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.eps[addr] = r
}

// Unregister detaches addr: messages to it are reported unreachable.
func (n *MemNetwork) Unregister(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.eps, addr)
}

// Cut drops all traffic to and from addr until Heal.
func (n *MemNetwork) Cut(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[addr] = true
}

// Heal restores addr's traffic.
func (n *MemNetwork) Heal(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, addr)
}

// Wait waits for snapshot streams in flight.
func (n *MemNetwork) Wait() { n.wg.Wait() }

// Endpoint returns the transport a node at addr sends with. Unreachable
// reports go to the receiver registered at addr (register it once the
// driver exists).
func (n *MemNetwork) Endpoint(addr string) *Mem {
	return &Mem{net: n, addr: addr}
}

// route returns the receiver for a message from -> to (nil when it is
// unreachable) and the sender's own receiver.
func (n *MemNetwork) route(from, to string) (dst, self Receiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	self = n.eps[from]
	if n.cut[from] || n.cut[to] {
		return nil, self
	}
	return n.eps[to], self
}

// Mem is one node's driver.Transport on a MemNetwork.
type Mem struct {
	net  *MemNetwork
	addr string
}

var _ driver.Transport = (*Mem)(nil)

// Send implements driver.Transport. There are no queues, so the priority
// lane needs no separate path.
func (t *Mem) Send(to raft.NodeID, addr string, payload []byte, priority bool) {
	r, self := t.net.route(t.addr, addr)
	if r == nil {
		if self != nil {
			self.ReportUnreachable(to)
		}
		return
	}
	r.Deliver(payload)
}

// SendSnapshot implements driver.Transport: it streams the snapshot into a
// staged file on its own goroutine, hands it to the receiver, then reports.
func (t *Mem) SendSnapshot(to raft.NodeID, addr string, m raft.Message, open func() (io.ReadCloser, error), done func(ok bool)) {
	t.net.wg.Add(1)
	go func() {
		defer t.net.wg.Done()
		r, _ := t.net.route(t.addr, addr)
		if r == nil {
			done(false)
			return
		}
		path, err := t.net.stage(open)
		if err != nil {
			done(false)
			return
		}
		r.DeliverSnapshot(m, stagedFile(path))
		done(true)
	}()
}

// stage copies the snapshot into a new temporary file, made durable so the
// receiver may rely on it.
func (n *MemNetwork) stage(open func() (io.ReadCloser, error)) (string, error) {
	rc, err := open()
	if err != nil {
		return "", fmt.Errorf("transport: open snapshot: %w", err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(n.dir, "snap-*.staged")
	if err != nil {
		return "", fmt.Errorf("transport: stage snapshot: %w", err)
	}
	_, err = io.Copy(f, rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("transport: stage snapshot: %w", err)
	}
	return f.Name(), nil
}

// stagedFile is a staged snapshot in a real file.
type stagedFile string

func (s stagedFile) Open() (io.ReadCloser, error) { return os.Open(string(s)) }
func (s stagedFile) Remove() error                { return os.Remove(string(s)) }
