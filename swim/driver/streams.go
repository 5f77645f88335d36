package driver

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/agentd/agentd/swim"
)

// A stream carries one exchange: the dialer writes one frame, the
// acceptor answers with one frame (empty when the core has no reply), and
// both close. Push-pull, the fallback probe and messages over PacketSize
// travel this way. Every stream has a deadline of Swim.TCPTimeout, in wall
// time (sockets know no other), and is closed at once by Stop.

// track registers a stream goroutine unless the driver is stopping.
func (d *Driver) track() bool {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.stopping {
		return false
	}
	d.streams.Add(1)
	return true
}

// HandleStream serves one inbound stream on a goroutine of its own, or
// closes it at once when MaxInboundStreams are in flight.
func (d *Driver) HandleStream(c net.Conn) {
	select {
	case d.inStreams <- struct{}{}:
	default:
		d.c.streamsRefused.Add(1)
		c.Close()
		return
	}
	if !d.track() {
		<-d.inStreams
		c.Close()
		return
	}
	d.c.streamsIn.Add(1)
	go func() {
		defer d.streams.Done()
		defer func() { <-d.inStreams }()
		d.serveStream(c)
	}()
}

func (d *Driver) serveStream(c net.Conn) {
	defer c.Close()
	defer context.AfterFunc(d.ctx, func() { c.Close() })()
	if err := c.SetDeadline(time.Now().Add(d.cfg.Swim.TCPTimeout)); err != nil {
		d.streamError("set deadline", c.RemoteAddr(), err)
		return
	}
	body, err := readFrame(c, d.cfg.MaxStreamBytes)
	if err != nil {
		d.streamError("read request", c.RemoteAddr(), err)
		return
	}
	msg, err := unwrap(d.kr, d.cfg.AcceptPlaintext, chanStream, body)
	if err != nil {
		d.c.countUnwrap(err)
		d.log.Debug("drop stream", "from", c.RemoteAddr(), "err", err)
		return
	}
	from := c.RemoteAddr().String()
	var reply []byte
	if err := d.call(func() { reply = d.core.HandleStream(d.clk.Now(), from, msg) }); err != nil {
		return
	}
	var wire []byte
	if len(reply) > 0 {
		if wire, err = wrap(d.kr, chanStream, reply); err != nil {
			d.streamError("seal reply", c.RemoteAddr(), err)
			return
		}
	}
	if err := writeFrame(c, wire); err != nil {
		d.streamError("write reply", c.RemoteAddr(), err)
	}
}

// startStream sends p over a new stream on a goroutine of its own, unless
// MaxOutboundStreams are in flight. Runs on the loop.
func (d *Driver) startStream(p swim.Packet) {
	select {
	case d.outStreams <- struct{}{}:
	default:
		d.c.streamsNotStarted.Add(1)
		return
	}
	if !d.track() {
		<-d.outStreams
		return
	}
	d.c.streamsOut.Add(1)
	go func() {
		defer d.streams.Done()
		defer func() { <-d.outStreams }()
		d.dialStream(p)
	}()
}

func (d *Driver) dialStream(p swim.Packet) {
	wire, err := wrap(d.kr, chanStream, p.Payload)
	if err != nil {
		d.streamError("seal", p.To, err)
		return
	}
	c, err := d.tr.DialStream(p.To, d.cfg.Swim.TCPTimeout)
	if err != nil {
		d.streamError("dial", p.To, err)
		return
	}
	defer c.Close()
	defer context.AfterFunc(d.ctx, func() { c.Close() })()
	if err := c.SetDeadline(time.Now().Add(d.cfg.Swim.TCPTimeout)); err != nil {
		d.streamError("set deadline", p.To, err)
		return
	}
	if err := writeFrame(c, wire); err != nil {
		d.streamError("write", p.To, err)
		return
	}
	body, err := readFrame(c, d.cfg.MaxStreamBytes)
	if err != nil {
		d.streamError("read reply", p.To, err)
		return
	}
	if len(body) == 0 {
		return
	}
	msg, err := unwrap(d.kr, d.cfg.AcceptPlaintext, chanStream, body)
	if err != nil {
		d.c.countUnwrap(err)
		d.log.Debug("drop stream reply", "from", p.To, "err", err)
		return
	}
	d.post(func() { d.core.HandleStream(d.clk.Now(), p.To, msg) })
}

func (d *Driver) streamError(op string, peer any, err error) {
	if errors.Is(err, ErrEnvelope) {
		d.c.malformed.Add(1)
	} else {
		d.c.streamErrors.Add(1)
	}
	d.log.Debug("stream "+op, "peer", peer, "err", err)
}
