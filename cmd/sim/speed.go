package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/agentd/agentd/jepsen"
)

// SpeedTarget is how many times faster than real time a five-node cluster
// under client load must be simulated (issue 2).
const SpeedTarget = 100

// runSpeed runs n seeds one after the other with five initial voters (the
// swarm's clients, faults and timing otherwise as drawn) and prints, per
// seed and as the median and minimum, simulated time divided by: the run's
// wall time without the linearizability check (the simulation itself),
// the whole run's wall time, and the process CPU time the run consumed.
// On a machine shared with other work the wall figures fall and the CPU
// figure does not; both are printed so that a reader can tell. calm turns
// every fault off, leaving the cluster under client load alone. It exits
// 1 if the median simulation-only wall ratio is below SpeedTarget.
func runSpeed(n int, first uint64, calm bool) int {
	var sim, whole, cpu []float64
	fmt.Printf("%6s %10s %10s %10s %8s %8s %8s %9s %7s %9s\n", "seed", "virtual", "wall", "check", "sim x", "all x", "cpu x", "events", "crashes", "acked ops")
	for i := range n {
		seed := first + uint64(i)
		cpu0 := cpuTime()
		r := jepsen.Run(jepsen.Options{Seed: seed, Tweak: func(s *jepsen.Swarm) {
			s.Voters = 5
			if calm {
				calmSwarm(s)
			}
		}})
		used := cpuTime() - cpu0
		st := r.Stats
		xs := ratioOf(st.VirtualTime, st.WallTime-st.CheckTime)
		xw := ratioOf(st.VirtualTime, st.WallTime)
		xc := ratioOf(st.VirtualTime, used)
		sim, whole, cpu = append(sim, xs), append(whole, xw), append(cpu, xc)
		crashes := st.Faults[jepsen.FaultCrash] + st.Faults[jepsen.FaultCrashSnapshot] + st.Faults[jepsen.FaultCrashCompaction] + st.Faults[jepsen.FaultDiskFull]
		fmt.Printf("%6d %10v %10v %10v %8.0f %8.0f %8.0f %9d %7d %9d\n", seed, st.VirtualTime.Round(time.Millisecond),
			st.WallTime.Round(time.Millisecond), st.CheckTime.Round(time.Millisecond), xs, xw, xc, st.Events, crashes, st.OpsAcked)
		if r.Violation != nil {
			printFailure(os.Stdout, r)
		}
	}
	ms, mw, mc := median(sim), median(whole), median(cpu)
	mode := "with faults"
	if calm {
		mode = "without faults"
	}
	fmt.Printf("speed over %d five-voter seeds %s (median / min): simulation %.0fx / %.0fx, with linearizability check %.0fx / %.0fx, per CPU second %.0fx / %.0fx (target %dx)\n",
		n, mode, ms, slices.Min(sim), mw, slices.Min(whole), mc, slices.Min(cpu), SpeedTarget)
	if ms < SpeedTarget {
		return 1
	}
	return 0
}

// calmSwarm turns off every fault of s.
func calmSwarm(s *jepsen.Swarm) {
	s.CrashEvery, s.PauseEvery, s.PartitionEvery, s.SkewEvery, s.SlowDiskEvery, s.MemberEvery, s.DiskFullEvery = 0, 0, 0, 0, 0, 0, 0
	s.CrashInSnapshotPPM, s.CrashInCompactPPM, s.CrashAfterVotePct, s.CrashAfterAppPPM, s.CrashNewLeaderPct = 0, 0, 0, 0, 0
	s.IsolateNewLeaderPct, s.IsolateCommitPct = 0, 0
	s.Net.LossPPM, s.Net.DupPPM, s.Net.ReorderPPM = 0, 0, 0
}

func ratioOf(virtual, spent time.Duration) float64 {
	if spent <= 0 {
		return 0
	}
	return float64(virtual) / float64(spent)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
