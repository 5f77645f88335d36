package agent

import (
	"net"
	"sync"
)

// connLimiter caps concurrent connections per client IP
// (limits.http_max_conns_per_client): an agent with many blocking watchers
// per host must not be exhausted by one misbehaving host. A connection over
// the limit is closed at once, as Consul does.
type connLimiter struct {
	max int // 0: unlimited

	mu    sync.Mutex
	count map[string]int // open connections per IP; guarded by mu
}

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, count: make(map[string]int)}
}

// limitedListener wraps a listener with a connLimiter, and lets a parked
// blocking query (http_park.go) hand its hijacked connection back to the
// HTTP server once its answer is written: Accept returns it again as if
// new. A returned connection keeps the slot it already holds.
type limitedListener struct {
	net.Listener
	l *connLimiter

	accepted chan acceptResult // from the one goroutine calling Listener.Accept
	resumed  chan net.Conn     // connections handed back by parked queries
	closed   chan struct{}     // closed by Close
	once     sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newLimitedListener(ln net.Listener, max int) *limitedListener {
	ll := &limitedListener{
		Listener: ln,
		l:        newConnLimiter(max),
		accepted: make(chan acceptResult),
		resumed:  make(chan net.Conn),
		closed:   make(chan struct{}),
	}
	go ll.acceptLoop()
	return ll
}

// acceptLoop accepts from the real listener until Close. Errors are passed
// on (the HTTP server retries temporary ones and closes us on others).
func (ll *limitedListener) acceptLoop() {
	for {
		c, err := ll.Listener.Accept()
		if err == nil {
			ip := remoteIP(c.RemoteAddr())
			if !ll.l.acquire(ip) {
				c.Close()
				continue
			}
			c = &limitedConn{Conn: c, release: func() { ll.l.release(ip) }}
		}
		select {
		case ll.accepted <- acceptResult{c, err}:
		case <-ll.closed:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	select {
	case r := <-ll.accepted:
		return r.c, r.err
	case c := <-ll.resumed:
		return c, nil
	case <-ll.closed:
		return nil, net.ErrClosed
	}
}

func (ll *limitedListener) Close() error {
	ll.once.Do(func() { close(ll.closed) })
	return ll.Listener.Close()
}

// resume hands c back to the HTTP server, or closes it when the server
// has stopped accepting.
func (ll *limitedListener) resume(c net.Conn) {
	select {
	case ll.resumed <- c:
	case <-ll.closed:
		c.Close()
	}
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return a.String()
}

func (l *connLimiter) acquire(ip string) bool {
	if l.max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count[ip] >= l.max {
		return false
	}
	l.count[ip]++
	return true
}

func (l *connLimiter) release(ip string) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count[ip]--; l.count[ip] <= 0 {
		delete(l.count, ip)
	}
}

// limitedConn releases its slot once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
