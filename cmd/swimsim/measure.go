package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen/swimsim"
	"github.com/agentd/agentd/swim"
)

// runMeasure prints one of the gossip figures (anchors G7–G9).
func runMeasure(what string, members, trials int, loss, hours float64, first uint64, workers int, verbose bool) int {
	switch what {
	case "detect":
		members, trials = or(members, 5), or(trials, 100)
		fmt.Printf("failure detection, LAN, %d members, %d trials (one crash each):\n", members, trials)
		return detections(trials, first, workers, members, verbose)
	case "dissem":
		members, trials = or(members, 1000), or(trials, 5)
		fmt.Printf("dissemination to 99.9%%, LAN, %d members, loss %.0f%%, %d trials (one tag update each):\n", members, loss*100, trials)
		return latencies(trials, first, workers, func(seed uint64) (time.Duration, error) {
			return swimsim.MeasureDissemination(seed, members, int(loss*1e6))
		})
	case "fp":
		members = or(members, 50)
		if loss == 0 {
			loss = 0.1
		}
		d := time.Duration(hours * float64(time.Hour))
		fmt.Printf("false positives, LAN, %d members, loss %.0f%%, one member starved (inputs 0.5-3 s late), %v simulated:\n", members, loss*100, d)
		code := 0
		var on, off swimsim.FalsePositives
		for _, lg := range []bool{true, false} {
			fp, err := swimsim.MeasureFalsePositives(first, members, int(loss*1e6), d, lg)
			if err != nil {
				fmt.Println(err)
				return 1
			}
			fmt.Printf("  lifeguard %-5v: suspicions of healthy members %d, healthy declared dead by healthy %d (by the starved one %d); starved suspected %d, declared dead %d\n",
				lg, fp.Suspicions, fp.Deaths, fp.DeathsByStarved, fp.StarvedSuspected, fp.StarvedDeclared)
			if lg {
				on = fp
				if fp.Deaths > 0 {
					code = 1
				}
			} else {
				off = fp
			}
		}
		fmt.Printf("  false suspicions off/on: %.1fx\n", float64(off.Suspicions)/float64(max(on.Suspicions, 1)))
		return code
	}
	fmt.Fprintf(os.Stderr, "unknown -measure %q (detect, dissem, fp)\n", what)
	return 2
}

func or(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// detections prints the detection time and its parts over trials (and
// each trial's, verbose).
func detections(trials int, first uint64, workers, members int, verbose bool) int {
	out := make([]swimsim.Detection, trials)
	errs := make([]error, trials)
	parallel.For(trials, workers, func(i int) {
		out[i], errs[i] = swimsim.MeasureDetection(first+uint64(i), members)
	})
	code := 0
	var all, susp, dead, spread []time.Duration
	for i, err := range errs {
		if err != nil {
			fmt.Println(" ", err)
			code = 1
			continue
		}
		d := out[i]
		if verbose {
			fmt.Printf("  seed %d: all %v  first suspicion %v  first death %v\n", first+uint64(i), d.All, d.FirstSuspect, d.FirstDead)
		}
		all = append(all, d.All)
		susp = append(susp, d.FirstSuspect)
		dead = append(dead, d.FirstDead-d.FirstSuspect)
		spread = append(spread, d.All-d.FirstDead)
	}
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{
		{"crash -> dead at all", all},
		{"  crash -> first suspicion", susp},
		{"  first suspicion -> first death", dead},
		{"  first death -> dead at all", spread},
	} {
		fmt.Printf("  %-34s n=%d  p50 %v  p99 %v  max %v\n", row.name, len(row.ds),
			q(row.ds, 0.5), q(row.ds, 0.99), q(row.ds, 1))
	}
	floor := detectionFloor(members, first)
	fmt.Printf("  %-34s n=%d  p50 %v  p99 %v  max %v\n", "floor (schedule model, floor.go)", len(floor),
		q(floor, 0.5), q(floor, 0.99), q(floor, 1))
	return code
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

func q(ds []time.Duration, f float64) time.Duration {
	return swimsim.Quantile(ds, f).Round(time.Millisecond)
}

func latencies(trials int, first uint64, workers int, f func(uint64) (time.Duration, error)) int {
	out := make([]time.Duration, trials)
	errs := make([]error, trials)
	parallel.For(trials, workers, func(i int) {
		out[i], errs[i] = f(first + uint64(i))
	})
	code := 0
	var ok []time.Duration
	for i, err := range errs {
		if err != nil {
			fmt.Println(" ", err)
			code = 1
			continue
		}
		ok = append(ok, out[i])
	}
	fmt.Printf("  n=%d  p50 %v  p99 %v  max %v\n", len(ok),
		swimsim.Quantile(ok, 0.5).Round(time.Millisecond), swimsim.Quantile(ok, 0.99).Round(time.Millisecond), swimsim.Quantile(ok, 1).Round(time.Millisecond))
	return code
}
