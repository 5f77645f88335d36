package world

import (
	"fmt"
	"time"
)

// Stream is a reliable, ordered byte stream from one host to another (a
// TCP connection). Chunks arrive in order, each after the network's
// MinDelay plus its size over the bandwidth; the stream breaks if the link
// is cut while a chunk is due, or if either end crashes.
type Stream struct {
	id       uint64
	from, to *Host
	fromEp   uint64
	toEp     uint64
	tail     time.Duration // arrival time of the last chunk sent
	closed   bool          // Close called
	done     bool          // finished (EOF delivered or broken)
	onData   func(b []byte)
	onClose  func(err error) // receiver: EOF (nil) or break
	onFinish func(err error) // sender: receiver got EOF (nil) or break
	accepted bool            // receiver's accept handler ran
}

// OnStream sets the host's stream accept handler (cleared by Crash). The
// handler must set the stream's receive callbacks with Stream.Receive.
func (h *Host) OnStream(f func(s *Stream)) { h.onStream = f }

// Dial opens a stream to the address to. It fails at once if the link is
// cut or the receiver is down or has no stream handler.
func (h *Host) Dial(to string) (*Stream, error) {
	n := h.w.Net
	dst := h.w.hosts[to]
	if !h.up || dst == nil || !dst.up || dst.onStream == nil || n.Blocked(h.addr, to) || n.Blocked(to, h.addr) {
		return nil, fmt.Errorf("world: dial %s -> %s: %w", h.addr, to, ErrUnreachable)
	}
	n.streams++
	n.stats.StreamsOpened++
	s := &Stream{id: n.streams, from: h, to: dst, fromEp: h.epoch, toEp: dst.epoch, tail: h.w.now}
	s.arrive(0, func() {
		s.accepted = true
		dst.onStream(s)
	})
	return s, nil
}

// ID is the stream's world-unique number.
func (s *Stream) ID() uint64 { return s.id }

// From is the dialling host's address.
func (s *Stream) From() string { return s.from.addr }

// Receive sets the receiver's callbacks: onData for each chunk in order,
// onClose once with nil at EOF or an error if the stream broke.
func (s *Stream) Receive(onData func(b []byte), onClose func(err error)) {
	s.onData, s.onClose = onData, onClose
}

// Write queues a chunk. Writing to a finished stream is a no-op (the
// sender learns of the break through Close's callback).
func (s *Stream) Write(b []byte) {
	if s.closed {
		panic("world: write to closed stream")
	}
	if s.done {
		return
	}
	s.arrive(len(b), func() {
		if s.onData != nil {
			s.onData(b)
		}
	})
}

// Close ends the stream; finish is called on the sender once the
// receiver has seen EOF (nil) or the stream broke (an error). finish runs
// on the sender host (dropped if it crashed).
func (s *Stream) Close(finish func(err error)) {
	if s.closed {
		panic("world: stream closed twice")
	}
	s.closed = true
	s.onFinish = finish
	if s.done {
		s.from.Go(0, func() { s.finish(ErrUnreachable) })
		return
	}
	s.arrive(0, func() {
		s.done = true
		if s.onClose != nil {
			s.onClose(nil)
		}
		if s.from.epoch == s.fromEp {
			s.from.Go(s.from.w.Net.delay(), func() { s.finish(nil) })
		}
	})
}

// arrive schedules fn on the receiver after the previous chunk plus this
// chunk's transfer time, breaking the stream instead if a fault intervened.
func (s *Stream) arrive(size int, fn func()) {
	w := s.from.w
	c := w.Net.cfg
	d := c.MinDelay
	if c.StreamBytesPerMs > 0 {
		d += time.Duration(size) * time.Millisecond / time.Duration(c.StreamBytesPerMs)
	}
	at := w.now + d
	if at < s.tail {
		at = s.tail
	}
	s.tail = at
	w.schedule(at, nil, func() {
		if s.done {
			return
		}
		if s.to.epoch != s.toEp || !s.to.up || s.from.epoch != s.fromEp || w.Net.Blocked(s.from.addr, s.to.addr) {
			s.break_()
			return
		}
		if s.to.paused { // TCP buffers: the data waits for the process
			s.to.deferred = append(s.to.deferred, &Event{fn: func() { s.deliver(fn) }, host: s.to, epoch: s.toEp, index: -1})
			return
		}
		s.deliver(fn)
	})
}

func (s *Stream) deliver(fn func()) {
	if s.done {
		return
	}
	fn()
}

func (s *Stream) break_() {
	if s.done {
		return
	}
	s.done = true
	s.from.w.Net.stats.StreamsBroken++
	if s.to.epoch == s.toEp && s.to.up && s.accepted && s.onClose != nil {
		s.to.Go(0, func() { s.onClose(ErrUnreachable) })
	}
	if s.closed && s.from.epoch == s.fromEp {
		s.from.Go(0, func() { s.finish(ErrUnreachable) })
	}
}

func (s *Stream) finish(err error) {
	if f := s.onFinish; f != nil {
		s.onFinish = nil
		f(err)
	}
}
