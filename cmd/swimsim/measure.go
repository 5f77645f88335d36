package main

import (
	"fmt"
	"os"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen/swimsim"
)

// runMeasure prints one of the gossip figures (anchors G7–G9).
func runMeasure(what string, members, trials int, loss, hours float64, first uint64, workers int, verbose bool) int {
	switch what {
	case "detect":
		members, trials = or(members, 5), or(trials, 100)
		fmt.Printf("failure detection, LAN, %d members, loss %.0f%%, %d trials (one crash each):\n", members, loss*100, trials)
		return detections(trials, first, workers, members, int(loss*1e6), verbose)
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
