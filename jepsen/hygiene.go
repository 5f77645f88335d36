package jepsen

import (
	"fmt"
	"time"

	"github.com/agentd/agentd/jepsen/check"
)

// Disk hygiene. A received snapshot is staged in the node's staging
// directory until the driver installs it (copying it into the snapshot
// store) or discards it (the core refused it, a newer one replaced it, the
// node stopped); either way the staged file is removed. A driver that
// forgets to remove it loses nothing the checkers see, yet a real server
// fills its disk with one snapshot per install. Found by mutation testing
// (driver/snapshot.go copyStaged without staged.Remove survived 150
// seeds). Staging directories are emptied at start (disk.go), so a file
// left by a crash is not counted against the next life.

// HygieneGrace is how long, once the run is over (clients stopped, every
// fault healed, the state converged and read back), a running member's
// staging directory may still hold files: a snapshot sent just before
// convergence can still be in flight or being discarded.
const HygieneGrace = time.Second

// stagingClean fails a run whose running members still hold staged
// snapshot files HygieneGrace after the final reads.
func (c *cluster) stagingClean() {
	var left []string
	dirty := func() bool {
		left = left[:0]
		for _, n := range c.members() {
			if !n.running() {
				continue
			}
			names, err := n.host.FS().ReadDir(stagingDir)
			if err != nil || len(names) == 0 {
				continue
			}
			left = append(left, fmt.Sprintf("%s: %v", n.id, names))
		}
		return len(left) > 0
	}
	if !c.runWhile(c.w.Now()+HygieneGrace, dirty) && c.check.Err() == nil {
		c.check.Fail(check.DiskHygiene, "staged snapshot files left %v after the run ended: %v", HygieneGrace, left)
	}
}
