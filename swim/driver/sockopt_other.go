//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package driver

import "net"

// socketBuffers cannot read the granted sizes here.
func socketBuffers(*net.UDPConn) (rcv, snd int, ok bool) { return 0, 0, false }
