//go:build linux || darwin || freebsd || netbsd || openbsd

package driver

import (
	"net"
	"syscall"
)

// socketBuffers reads back the buffer sizes the kernel granted (Linux
// reports double the usable size, as it counts its bookkeeping).
func socketBuffers(c *net.UDPConn) (rcv, snd int, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	var rerr, serr error
	err = raw.Control(func(fd uintptr) {
		rcv, rerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	return rcv, snd, err == nil && rerr == nil && serr == nil
}
