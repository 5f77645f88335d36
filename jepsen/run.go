package jepsen

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/jepsen/kv"
	"github.com/agentd/agentd/raft"
)

// Options configure one run.
type Options struct {
	Seed  uint64
	Trace io.Writer // every delivery, persist, apply and fault; nil: none
	Log   io.Writer // progress lines (-v); nil: none
	// Tweak, if set, adjusts the swarm after it is drawn (tests).
	Tweak func(*Swarm)
	// LinearizabilityTimeout bounds Porcupine (wall time); reaching it is
	// a failure (check.Undecided, not counted as a safety finding). 0: 30 s.
	LinearizabilityTimeout time.Duration
}

// Result is one run's outcome.
type Result struct {
	Seed      uint64
	Stats     Stats
	Violation *check.Violation
}

// MinAcked is the number of acknowledged operations the safety phase
// runs for at least (up to four times its drawn length).
const MinAcked = 250

// ConvergenceBound is how long, after the liveness probe commits, the
// healed cluster has to bring every member to the same applied index.
const ConvergenceBound = 5 * time.Second

// Run executes one seed: a safety phase with faults, then a liveness phase
// on a healed cluster, then the end-of-run checks.
func Run(opt Options) (res Result) {
	wallStart := time.Now()
	c := newCluster(opt)
	defer func() {
		// An assertion in the code under test (a broken invariant panics)
		// fails the run like a checker would, with the seed to replay.
		if p := recover(); p != nil {
			c.w.Tracef("panic: %v", p)
			res = Result{Seed: opt.Seed, Stats: c.stats, Violation: &check.Violation{Checker: check.Panic, Detail: fmt.Sprint(p)}}
			res.Stats.Runs, res.Stats.Violations = 1, 1
			res.Stats.VirtualTime = c.w.Now()
			res.Stats.WallTime = time.Since(wallStart)
		}
	}()
	c.bootstrap()
	c.startClients()
	c.startNemesis()

	c.run(c.swarm.SafetyPhase)
	// A harsh swarm (slow disks and network, frequent leader crashes)
	// commits little: prolong the faults until the history is rich
	// enough to mean something, within a bound.
	for end := 4 * c.swarm.SafetyPhase; c.history.Acked < MinAcked && c.w.Now() < end && c.check.Err() == nil; {
		c.run(c.w.Now() + time.Second)
	}
	if c.check.Err() == nil {
		c.liveness()
	}
	if c.check.Err() == nil {
		c.converge()
	}
	if c.check.Err() == nil {
		c.sustain()
	}
	if c.check.Err() == nil {
		c.finalReads()
	}
	if c.check.Err() == nil {
		c.stagingClean()
	}
	ops := c.history.Operations()
	if c.check.Err() == nil {
		checkStart := time.Now()
		c.linearizable(ops)
		c.stats.CheckTime = time.Since(checkStart)
	}

	c.stats.Runs = 1
	c.stats.VirtualTime = c.w.Now()
	c.stats.Events = c.w.Steps()
	c.stats.OpsChecked = len(ops)
	c.stats.OpsAcked = c.history.Acked
	c.stats.OpsUnknown = c.history.Unknown
	for t := range c.candidateTerms {
		if !c.leaderTerms[t] {
			c.stats.SplitVotes++
		}
	}
	res = Result{Seed: opt.Seed, Stats: c.stats, Violation: c.check.Violation()}
	if res.Violation != nil {
		res.Stats.Violations = 1
		c.w.Tracef("violation %s", res.Violation)
	}
	res.Stats.WallTime = time.Since(wallStart)
	return res
}

// liveness heals every fault and requires that, within the bound, a
// leader is elected and a new entry committed (a client write acknowledged).
func (c *cluster) liveness() {
	c.heal()
	start := c.w.Now()
	deadline := start + c.swarm.LivenessBound
	c.logf("liveness phase: bound %v", c.swarm.LivenessBound)
	probe := &client{c: c, id: len(c.clients), r: c.clientRand}
	acked := false
	var try func()
	try = func() {
		if acked || c.w.Now() >= deadline {
			return
		}
		c.stopUnawareRemoved() // a removal may reach the others only now
		c.reqSeq++
		cmd := kv.Command{Op: kv.OpPut, Key: "live", Value: fmt.Sprintf("v%d", c.reqSeq), ReqID: c.reqSeq}
		probe.do(cmd, func(ok bool) {
			if ok {
				acked = true
				return
			}
			c.w.After(10*time.Millisecond, try)
		})
	}
	try()
	if !c.runWhile(deadline, func() bool { return !acked }) && c.check.Err() == nil {
		c.check.Fail(check.Liveness, "no write committed within %v of healing (leader: %v)", c.swarm.LivenessBound, c.leader() != nil)
		return
	}
	c.logf("liveness: write committed %v after healing", c.w.Now()-start)
}

// converge stops the clients, waits for their last operations, then for
// every member to apply the same index, and compares state hashes.
func (c *cluster) converge() {
	for _, cl := range c.clients {
		cl.stop = true
	}
	c.run(c.w.Now() + c.swarm.OpTimeout + 100*time.Millisecond)
	deadline := c.w.Now() + ConvergenceBound
	level := func() (raft.Index, bool) {
		var hi raft.Index
		same := true
		first := true
		for _, n := range c.members() {
			if !n.running() {
				return 0, false
			}
			a := n.applied()
			if first {
				hi, first = a, false
			} else if a != hi {
				same = false
			}
			hi = max(hi, a)
		}
		return hi, same && hi >= c.check.MaxApplied()
	}
	c.runWhile(deadline, func() bool { _, ok := level(); return !ok })
	if c.check.Err() != nil {
		return
	}
	// Compare hashes of members at equal applied index, even if some lag.
	byIndex := map[raft.Index]*node{}
	for _, n := range c.members() {
		if !n.running() {
			continue
		}
		a := n.applied()
		if o, ok := byIndex[a]; ok {
			if o.storeHash() != n.storeHash() {
				c.check.Fail(check.Convergence, "%s and %s both applied %d but hold different states", o.id, n.id, a)
				return
			}
		} else {
			byIndex[a] = n
		}
	}
	if hi, ok := level(); !ok {
		var lag []string
		for _, n := range c.members() {
			lag = append(lag, fmt.Sprintf("%s@%d", n.id, n.applied()))
		}
		c.check.Fail(check.Liveness, "members did not converge within %v of the liveness probe (max applied %d): %v", ConvergenceBound, hi, lag)
	}
}

// finalReads reads every key ever written through a leader, one after
// the other.
func (c *cluster) finalReads() {
	var keys []string
	for k := range c.written {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	reader := &client{c: c, id: len(c.clients) + 1, r: c.clientRand}
	for _, k := range keys {
		// Each read has the liveness bound: on a slow network a dozen
		// sequential reads take longer than one.
		deadline := c.w.Now() + c.swarm.LivenessBound
		done := false
		var try func()
		try = func() {
			c.reqSeq++
			reader.do(kv.Command{Op: kv.OpGet, Key: k, ReqID: c.reqSeq}, func(ok bool) {
				if ok {
					done = true
					return
				}
				c.w.After(10*time.Millisecond, try)
			})
		}
		try()
		if !c.runWhile(deadline, func() bool { return !done }) {
			if c.check.Err() == nil {
				c.check.Fail(check.Liveness, "final read of %s did not complete within %v", k, c.swarm.LivenessBound)
			}
			return
		}
	}
}

func (c *cluster) linearizable(ops []porcupine.Operation) {
	timeout := c.opt.LinearizabilityTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	switch res := porcupine.CheckOperationsTimeout(kv.Model, ops, timeout); res {
	case porcupine.Ok:
	case porcupine.Illegal:
		c.check.Fail(check.Linearizability, "client history of %d operations is not linearizable", len(ops))
	default:
		c.check.Fail(check.Undecided, "porcupine could not decide within %v (%v)", timeout, res)
	}
}

// ReplayCommand is the command line that replays seed.
func ReplayCommand(seed uint64) string {
	return fmt.Sprintf("go run ./cmd/sim -seed %d -trace trace-%d.txt -v", seed, seed)
}
