package main

import (
	"fmt"
	"slices"
	"time"
)

// latencies are exact samples; percentile sorts a merged copy once.
type latencies []time.Duration

func merge(parts []latencies) latencies {
	var all latencies
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	return all
}

// at returns the q-quantile (0..1) of sorted samples; 0 when empty.
func (l latencies) at(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(q * float64(len(l)))
	if i >= len(l) {
		i = len(l) - 1
	}
	return l[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report prints a human line and a RESULT line with the fields bench/
// scripts parse (key=value, milliseconds).
func report(label string, ops int, errs int, elapsed time.Duration, l latencies) {
	rate := float64(ops) / elapsed.Seconds()
	fmt.Printf("%s: %d ops in %.2fs = %.0f ops/s, errors %d, latency p50 %.3f ms p99 %.3f ms p999 %.3f ms max %.3f ms\n",
		label, ops, elapsed.Seconds(), rate, errs, ms(l.at(0.50)), ms(l.at(0.99)), ms(l.at(0.999)), ms(l.at(1)))
	fmt.Printf("RESULT system=agentd op=%s ops=%d errors=%d secs=%.3f ops_per_sec=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
		label, ops, errs, elapsed.Seconds(), rate, ms(l.at(0.50)), ms(l.at(0.99)), ms(l.at(0.999)))
}
