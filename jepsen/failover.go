package jepsen

import (
	"slices"
	"time"

	"github.com/agentd/agentd/raft"
)

// failoverProbe watches for the first client write committed in a term
// after the crashed leader's.
type failoverProbe struct {
	c        *cluster
	oldTerm  raft.Term
	crashed  time.Duration
	armed    bool
	recovery time.Duration // crash to first commit; 0 until seen
}

func (f *failoverProbe) applied(e *raft.Entry) {
	if f.armed && f.recovery == 0 && e.Type == raft.EntryNormal && e.Term > f.oldTerm {
		f.recovery = f.c.w.Now() - f.crashed
	}
}

// FailoverTrial runs one failover measurement: five voters with
// SimConfig timing (150–300 ms election timeout, PreVote and CheckQuorum
// on), clients writing, no other fault. After a warm-up the leader is
// crashed; the result is the virtual time from the crash until a write of
// a later term is committed (applied by some member). ok is false if no
// leader emerged in time or a checker failed.
func FailoverTrial(seed uint64) (d time.Duration, ok bool) {
	c := newCluster(Options{Seed: seed, Tweak: func(s *Swarm) {
		s.Voters = 5
		s.Clients = 5
		s.OpTimeout = 100 * time.Millisecond
		s.Net.LossPPM, s.Net.DupPPM, s.Net.ReorderPPM = 0, 0, 0
		// SimConfig's timing and defaults, not the swarm's corners.
		s.ElectionTicks, s.PreVote, s.CheckQuorum = 10, true, true
		s.MaxMsgBytes, s.MaxInflightMsgs = 16<<10, 16
		s.Net.MaxDelay = min(s.Net.MaxDelay, s.Net.MinDelay+10*time.Millisecond)
		s.DiskLatency = min(s.DiskLatency, 3*time.Millisecond)
	}})
	c.healed = true // no nemesis
	f := &failoverProbe{c: c}
	c.failover = f
	c.bootstrap()
	c.startClients()
	warm := time.Second + time.Duration(c.nem.Int64N(int64(time.Second)))
	c.run(warm)
	c.runWhile(warm+5*time.Second, func() bool { return c.leader() == nil })
	l := c.leader()
	if l == nil || c.check.Err() != nil {
		return 0, false
	}
	f.oldTerm, f.crashed, f.armed = l.term(), c.w.Now(), true
	c.crash(l, FaultCrash)
	c.runWhile(c.w.Now()+10*time.Second, func() bool { return f.recovery == 0 })
	if f.recovery == 0 || c.check.Err() != nil {
		return 0, false
	}
	return f.recovery, true
}

// Percentile returns the p-th percentile (0..100) of ds.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
