package driver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// NetConfig configures a NetTransport.
type NetConfig struct {
	// BindAddr is the "ip:port" to listen on for both UDP and TCP. Port 0
	// picks a free port (the same for both).
	BindAddr string
	// AdvertiseAddr is the address peers use; "" means the bound address.
	AdvertiseAddr string
	// UDPBufferBytes is the socket buffer size asked for, each direction
	// (default 2 MiB). The kernel may grant less (Linux caps at
	// net.core.rmem_max); the granted size is logged.
	UDPBufferBytes int
	// Logger; nil discards.
	Logger *slog.Logger
}

// udpReadBuffer is the receive buffer: larger than any datagram we send,
// so a truncated read means a foreign or broken sender.
const udpReadBuffer = 64 << 10

const defaultUDPBufferBytes = 2 << 20

// bindAttempts bounds the search for a port free for both UDP and TCP.
const bindAttempts = 16

// NetTransport is UDP for datagrams and TCP for streams on one port.
type NetTransport struct {
	addr string
	udp  *net.UDPConn
	tcp  *net.TCPListener
	log  *slog.Logger

	wg sync.WaitGroup // the two receive goroutines
}

// Listen binds the sockets. Serve starts receiving.
func Listen(cfg NetConfig) (*NetTransport, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.UDPBufferBytes == 0 {
		cfg.UDPBufferBytes = defaultUDPBufferBytes
	}
	bind, err := netip.ParseAddrPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("swim/driver: listen: BindAddr %q: %w", cfg.BindAddr, err)
	}
	var t *NetTransport
	for range bindAttempts {
		t, err = listenOnce(bind)
		if err == nil || bind.Port() != 0 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	t.log = log
	t.addr = t.tcp.Addr().String()
	if cfg.AdvertiseAddr != "" {
		t.addr = cfg.AdvertiseAddr
	}
	setUDPBuffers(t.udp, cfg.UDPBufferBytes, log)
	return t, nil
}

// listenOnce binds TCP, then UDP on the port TCP got. With port 0 the UDP
// port may be taken; the caller retries.
func listenOnce(bind netip.AddrPort) (*NetTransport, error) {
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(bind))
	if err != nil {
		return nil, fmt.Errorf("swim/driver: listen tcp %s: %w", bind, err)
	}
	port := tcp.Addr().(*net.TCPAddr).AddrPort().Port()
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind.Addr(), port)))
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("swim/driver: listen udp %s:%d: %w", bind.Addr(), port, err)
	}
	return &NetTransport{udp: udp, tcp: tcp}, nil
}

func setUDPBuffers(c *net.UDPConn, size int, log *slog.Logger) {
	if err := c.SetReadBuffer(size); err != nil {
		log.Warn("udp read buffer", "asked", size, "err", err)
	}
	if err := c.SetWriteBuffer(size); err != nil {
		log.Warn("udp write buffer", "asked", size, "err", err)
	}
	rcv, snd, ok := socketBuffers(c)
	if ok {
		log.Info("udp socket buffers", "asked", size, "granted_read", rcv, "granted_write", snd)
	}
}

func (t *NetTransport) Addr() string { return t.addr }

func (t *NetTransport) Serve(h Handler) error {
	t.wg.Add(2)
	go t.readPackets(h)
	go t.acceptStreams(h)
	return nil
}

func (t *NetTransport) readPackets(h Handler) {
	defer t.wg.Done()
	buf := make([]byte, udpReadBuffer)
	for {
		n, from, err := t.udp.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			t.log.Warn("udp read", "err", err)
			continue
		}
		h.HandlePacket(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()).String(), buf[:n])
	}
}

func (t *NetTransport) acceptStreams(h Handler) {
	defer t.wg.Done()
	for {
		c, err := t.tcp.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of descriptors and the like: the next Accept may work;
			// the driver's stream cap keeps us from causing it.
			t.log.Warn("tcp accept", "err", err)
			continue
		}
		h.HandleStream(c)
	}
}

func (t *NetTransport) WritePacket(to string, p []byte) error {
	ap, err := netip.ParseAddrPort(to)
	if err != nil {
		ua, rerr := net.ResolveUDPAddr("udp", to)
		if rerr != nil {
			return fmt.Errorf("swim/driver: resolve %s: %w", to, rerr)
		}
		ap = ua.AddrPort()
	}
	_, err = t.udp.WriteToUDPAddrPort(p, ap)
	return err
}

func (t *NetTransport) DialStream(to string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", to, timeout)
}

// Close closes both sockets and waits for the receive goroutines.
func (t *NetTransport) Close() error {
	err := errors.Join(t.udp.Close(), t.tcp.Close())
	t.wg.Wait()
	return err
}

var _ io.Closer = (*NetTransport)(nil)
