package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen/swimsim"
	"github.com/agentd/agentd/swim"
)

// detectionRun is one detection cell: trials of one crash each.
type detectionRun struct {
	n, lossPPM int
	ok         []swimsim.Detection
	errs       []error
	floor      []time.Duration // the schedule model's draws (floor.go)
}

// measureDetections runs trials crashes in n-member LAN pools, seeds
// first.., on workers.
func measureDetections(trials int, first uint64, workers, n, lossPPM int) detectionRun {
	out := make([]swimsim.Detection, trials)
	errs := make([]error, trials)
	parallel.For(trials, workers, func(i int) {
		out[i], errs[i] = swimsim.MeasureDetection(first+uint64(i), n, lossPPM)
	})
	r := detectionRun{n: n, lossPPM: lossPPM, floor: detectionFloor(n, first)}
	for i, err := range errs {
		if err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		r.ok = append(r.ok, out[i])
	}
	return r
}

// parts returns, per trial, the detection time and its three parts.
func (r detectionRun) parts() (all, susp, dead, spread []time.Duration) {
	for _, d := range r.ok {
		all = append(all, d.All)
		susp = append(susp, d.FirstSuspect)
		dead = append(dead, d.FirstDead-d.FirstSuspect)
		spread = append(spread, d.All-d.FirstDead)
	}
	return all, susp, dead, spread
}

// detections prints the detection time and its parts over trials (and
// each trial's, verbose).
func detections(trials int, first uint64, workers, members, lossPPM int, verbose bool) int {
	r := measureDetections(trials, first, workers, members, lossPPM)
	code := 0
	for _, err := range r.errs {
		fmt.Println(" ", err)
		code = 1
	}
	if verbose {
		for i, d := range r.ok {
			fmt.Printf("  trial %d: all %v  first suspicion %v  first death %v\n", i, d.All, d.FirstSuspect, d.FirstDead)
		}
	}
	all, susp, dead, spread := r.parts()
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{
		{"crash -> dead at all", all},
		{"  crash -> first suspicion", susp},
		{"  first suspicion -> first death", dead},
		{"  first death -> dead at all", spread},
		{"floor (schedule model, floor.go)", r.floor},
	} {
		fmt.Printf("  %-34s n=%d  p50 %v  p99 %v  max %v\n", row.name, len(row.ds),
			q(row.ds, 0.5), q(row.ds, 0.99), q(row.ds, 1))
	}
	return code
}

// printDetections writes the report's detection table (markdown).
func printDetections(w io.Writer, runs []detectionRun, first uint64) int {
	code := 0
	fmt.Fprintf(w, "Crash detection (the targets' figure): one crash per trial in an N-member LAN pool (bootstrap, settle 10 s, set the loss, crash a random member); "+
		"seeds %d.. per trial. The floor is floor.go's model of the same probe and suspicion schedule (memberlist's LAN values) with no delay and instant dissemination, 100,000 draws: "+
		"what memberlist itself could reach with these settings.\n\n", first)
	fmt.Fprintln(w, "| N | loss | trials | crash → first suspicion: p50 | p99 | first suspicion → first death: p50 | p99 | first death → dead at all: p50 | p99 | crash → dead at all: p50 | p99 | max | floor: p50 | p99 |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		all, susp, dead, spread := r.parts()
		fmt.Fprintf(w, "| %d | %d%% | %d | %s | %s | %s | %s | %s | %s | **%s** | **%s** | %s | %s | %s |\n", r.n, r.lossPPM/10_000, len(r.ok),
			sec(susp, 0.5), sec(susp, 0.99), sec(dead, 0.5), sec(dead, 0.99), sec(spread, 0.5), sec(spread, 0.99),
			sec(all, 0.5), sec(all, 0.99), sec(all, 1), sec(r.floor, 0.5), sec(r.floor, 0.99))
		for _, err := range r.errs {
			fmt.Fprintf(w, "- %v\n", err)
			code = 1
		}
	}
	fmt.Fprintln(w)
	return code
}

func q(ds []time.Duration, f float64) time.Duration {
	return swimsim.Quantile(ds, f).Round(time.Millisecond)
}

// detectionFloor draws the probe-and-suspicion schedule model 100,000
// times: what memberlist's LAN settings allow with instant dissemination.
func detectionFloor(members int, seed uint64) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 0xf1002))
	cfg := swim.LANConfig("x", "x", r)
	out := make([]time.Duration, 100_000)
	for i := range out {
		out[i] = swimsim.DetectionFloor(cfg, members, r)
	}
	return out
}
