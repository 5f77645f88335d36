package jepsen

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/jepsen/kv"
)

// After convergence (the clients stopped, every fault healed), the cluster
// must still commit a burst: sustainWrites writes of sustainValueBytes
// each, all issued at once by as many fresh clients and each retried
// until acknowledged, within SustainBound. The liveness probe's one write
// proves a leader exists; a burst proves its replication pipeline drains
// and refills. The total (96 KiB) is three times the largest byte bound
// of the pipeline the swarm draws (flowSwarm), so a leader whose flow
// control stops releasing what its followers acknowledged (a throughput
// bug no safety checker sees, found by mutation testing) stalls here.
const (
	sustainWrites     = 24
	sustainValueBytes = 4 << 10
	// SustainBound: with the faults healed and the clients stopped, a
	// burst takes a few round trips and fsyncs (well under a second on
	// the slowest swarm); a stalled pipeline never finishes.
	SustainBound = 5 * time.Second
)

// sustain issues the burst and fails liveness unless every write of it is
// acknowledged within SustainBound. Each write has its own key, so that
// the burst adds no contention to the linearizability check.
func (c *cluster) sustain() {
	start := c.w.Now()
	deadline := start + SustainBound
	pad := strings.Repeat("x", sustainValueBytes-8)
	acked := 0
	for i := range sustainWrites {
		// Client IDs after the liveness probe's and the final reader's.
		cl := &client{c: c, id: len(c.clients) + 2 + i, r: c.clientRand}
		key := fmt.Sprintf("sustain%d", i)
		var try func()
		try = func() {
			if c.w.Now() >= deadline {
				return
			}
			c.reqSeq++
			cmd := kv.Command{Op: kv.OpPut, Key: key, Value: fmt.Sprintf("%08d", c.reqSeq) + pad, ReqID: c.reqSeq}
			cl.do(cmd, func(ok bool) {
				if ok {
					acked++
					return
				}
				c.w.After(10*time.Millisecond, try)
			})
		}
		try()
	}
	if !c.runWhile(deadline, func() bool { return acked < sustainWrites }) && c.check.Err() == nil {
		c.check.Fail(check.Liveness, "%d of %d concurrent writes of %d bytes committed within %v after convergence (leader: %v)",
			acked, sustainWrites, sustainValueBytes, SustainBound, c.leader() != nil)
		return
	}
	c.logf("sustain: %d writes committed in %v", sustainWrites, c.w.Now()-start)
}
