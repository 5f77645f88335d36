package main

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampReader reads a TCP connection with recvmsg(2) and keeps the
// kernel's receive timestamp (SO_TIMESTAMPNS) of the last read that
// returned data: the moment the answer's last bytes reached the watcher's
// socket, whenever the watcher's goroutine gets a CPU to read them. With
// the watchers on the same two cores as the agent, a user-space clock read
// after the read charges the watchers' own scheduling delay to the agent.
type stampReader struct {
	rc   syscall.RawConn
	oob  []byte
	last time.Time
}

// newStampReader turns on receive timestamps for c.
func newStampReader(c net.Conn) (*stampReader, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("rx timestamps need a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	return &stampReader{rc: rc, oob: make([]byte, syscall.CmsgSpace(16))}, nil
}

func (s *stampReader) Read(p []byte) (int, error) {
	var n, oobn int
	var rerr error
	err := s.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, s.oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	if t, ok := parseStamp(s.oob[:oobn]); ok {
		s.last = t
	}
	return n, nil
}

// parseStamp finds SCM_TIMESTAMPNS in a control message buffer.
func parseStamp(oob []byte) (time.Time, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Sec, ts.Nsec), true
		}
	}
	return time.Time{}, false
}
