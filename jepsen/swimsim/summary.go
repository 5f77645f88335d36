package swimsim

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Summary aggregates runs.
type Summary struct {
	Runs, Failed   int
	Members        int // summed over runs
	Virtual        time.Duration
	Steps          uint64
	Faults         FaultCounts
	Detection      []time.Duration
	Dissemination  []time.Duration
	Deaths         DeathCounts
	Suspicions     int
	PairCutsJudged int
	QuietLeaves    int
	Rejoin         []time.Duration // per restart seen alive everywhere in its bound
	Unconverged    int
	Violations     map[Checker]int
}

// Record adds one run.
func (s *Summary) Record(r Result) {
	if s.Violations == nil {
		s.Violations = map[Checker]int{}
	}
	s.Runs++
	s.Members += r.Swarm.Members
	s.Virtual += r.Virtual
	s.Steps += r.Steps
	s.Faults.Add(r.Faults)
	s.Detection = append(s.Detection, r.Detection...)
	s.Dissemination = append(s.Dissemination, r.Dissemination...)
	s.Deaths.False += r.Deaths.False
	s.Deaths.Excused += r.Deaths.Excused
	s.Suspicions += r.Suspicions
	s.PairCutsJudged += r.PairCutsJudged
	s.QuietLeaves += r.QuietLeaves
	if r.Rejoin >= 0 && r.Faults.Restart > 0 {
		s.Rejoin = append(s.Rejoin, r.Rejoin)
	}
	if r.Converged < 0 {
		s.Unconverged++
	}
	if len(r.Violations) > 0 {
		s.Failed++
	}
	for _, v := range r.Violations {
		s.Violations[v.Checker]++
	}
}

// Quantile is the q-quantile of xs (nearest rank), 0 for none.
func Quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	return quantileOf(slices.Clone(xs), q)
}

// Print writes the summary lines.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "runs %d  members %d (mean %.1f)  virtual %v  events %d\n",
		s.Runs, s.Members, float64(s.Members)/float64(max(s.Runs, 1)), s.Virtual.Round(time.Second), s.Steps)
	f := s.Faults
	fmt.Fprintf(w, "faults: crash %d  pause %d  starve %d  partition %d (%d outlasting the longest suspicion)  loss-burst %d  tag-update %d  late-join %d  user-event %d  leave %d (%d quiet)  pair-cut %d (%d judged)  isolate %d  force-leave %d  volley %d\n",
		f.Crash, f.Pause, f.Starve, f.Partition, f.LongPartition, f.LossBurst, f.Tags, f.Join, f.UserEvents, f.Leave, s.QuietLeaves, f.PairCut, s.PairCutsJudged, f.Isolate, f.ForceLeave, f.Volley)
	fmt.Fprintf(w, "restart (alive in every live table again): n=%d of %d  p50 %v  p99 %v  max %v\n",
		len(s.Rejoin), f.Restart, ms(Quantile(s.Rejoin, 0.5)), ms(Quantile(s.Rejoin, 0.99)), ms(Quantile(s.Rejoin, 1)))
	fmt.Fprintf(w, "detection (all healthy members, per crash): n=%d  p50 %v  p99 %v  max %v\n",
		len(s.Detection), ms(Quantile(s.Detection, 0.5)), ms(Quantile(s.Detection, 0.99)), ms(Quantile(s.Detection, 1)))
	fmt.Fprintf(w, "dissemination to 99.9%% (join/tag update): n=%d  p50 %v  p99 %v  max %v\n",
		len(s.Dissemination), ms(Quantile(s.Dissemination, 0.5)), ms(Quantile(s.Dissemination, 0.99)), ms(Quantile(s.Dissemination, 1)))
	fmt.Fprintf(w, "false positives: %d declarations of healthy members (checker 2); %d excused (unhealthy subject or accuser); %d suspicions of live members\n",
		s.Deaths.False, s.Deaths.Excused, s.Suspicions)
	fmt.Fprintf(w, "violations: detect %d  no-false-death %d  reach %d  converge %d  health %d  events %d  leave %d  indirect %d  table %d  probe-order %d  join %d  driver %d  (failed runs %d, runs not converged in the liveness phase %d)\n",
		s.Violations[CheckDetect], s.Violations[CheckNoFalseDeath], s.Violations[CheckReach], s.Violations[CheckConverge], s.Violations[CheckHealth], s.Violations[CheckEvents], s.Violations[CheckLeave], s.Violations[CheckIndirect], s.Violations[CheckTable], s.Violations[CheckProbeOrder], s.Violations[CheckJoin], s.Violations[CheckDriver], s.Failed, s.Unconverged)
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
