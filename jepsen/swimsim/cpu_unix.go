//go:build unix

package swimsim

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used, all
// threads together: wall time alone misleads on a shared machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
