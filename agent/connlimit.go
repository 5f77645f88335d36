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

// limitedListener wraps a listener with a connLimiter.
type limitedListener struct {
	net.Listener
	l *connLimiter
}

func (ll limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		if ll.l.acquire(ip) {
			return &limitedConn{Conn: c, release: func() { ll.l.release(ip) }}, nil
		}
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
