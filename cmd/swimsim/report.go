package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen/swimsim"
)

// reportSpec is one cell of the report: a pool size and a loss rate.
type reportSpec struct {
	n, lossPPM, trials int
	quiet              time.Duration
}

// reportCells lists the report's cells: N = 10, 100, 1000 at 0%, 5% and
// 10% loss. trials applies to N ≤ 100, trials1000 to N = 1000; quiet
// periods are sized so each cell sees tens of member-hours.
func reportCells(sizes []int, trials, trials1000 int) []reportSpec {
	var out []reportSpec
	for _, n := range sizes {
		for _, loss := range []int{0, 50_000, 100_000} {
			sp := reportSpec{n: n, lossPPM: loss, trials: trials}
			switch n {
			case 10:
				sp.quiet = 20 * time.Minute
			default: // other sizes (-sizes): a few member-hours
				sp.quiet = time.Duration(float64(2*time.Hour) / float64(n))
			case 100:
				sp.quiet = 2 * time.Minute
			case 1000:
				sp.quiet, sp.trials = time.Minute, trials1000
			}
			out = append(out, sp)
		}
	}
	return out
}

const reportStorm = 100

// runReport runs every cell's trials on workers and prints the markdown.
func runReport(w io.Writer, sizes []int, first uint64, trials, trials1000, dtrials5, dtrials100, workers int) int {
	start := time.Now()
	var det []detectionRun
	for _, c := range []struct{ n, trials int }{{5, dtrials5}, {100, dtrials100}} {
		for _, loss := range []int{0, 100_000} {
			if c.trials > 0 {
				det = append(det, measureDetections(c.trials, first, workers, c.n, loss))
			}
		}
	}
	cells := reportCells(sizes, trials, trials1000)
	type job struct{ cell, trial int }
	var jobs []job
	// Largest first, so the long N = 1000 trials do not run last alone.
	for c := len(cells) - 1; c >= 0; c-- {
		for t := range cells[c].trials {
			jobs = append(jobs, job{c, t})
		}
	}
	results := make([][]swimsim.Trial, len(cells))
	for c := range cells {
		results[c] = make([]swimsim.Trial, cells[c].trials)
	}
	parallel.For(len(jobs), workers, func(i int) {
		j := jobs[i]
		sp := cells[j.cell]
		results[j.cell][j.trial] = swimsim.RunTrial(first+uint64(j.trial), sp.n, sp.lossPPM, sp.quiet, reportStorm)
	})
	took := time.Since(start)
	fmt.Fprintf(w, "Command: `go run ./cmd/swimsim -report -trials %d -trials1000 %d -dtrials5 %d -dtrials100 %d -first %d` (%v real).\n\n",
		trials, trials1000, dtrials5, dtrials100, first, took.Round(time.Second))
	code := printDetections(w, det, first)
	return max(code, printReport(w, cells, results, first))
}

func printReport(w io.Writer, cells []reportSpec, results [][]swimsim.Trial, first uint64) int {
	code := 0
	fmt.Fprintf(w, "LAN config (swim.LANConfig: probe 1 s, probe timeout 500 ms, gossip 200 ms to 3 members, 3 indirect checks, "+
		"suspicion mult 4 (max ×6), retransmit mult 4, push-pull 30 s scaled by log2(N/32)); one-way delay 0.2–2 ms; loss applies to every datagram, "+
		"streams (push-pull, fallback ping) are reliable. Each trial: bootstrap without loss, settle 10 s, set the loss, then a quiet period "+
		"(false positives, traffic), one tag update, one crash, a join storm of %d members each joining one random member. Seeds %d.. per trial; "+
		"the Lifeguard-off run reuses each seed for the bootstrap and quiet period. p99 over fewer than 100 samples is the maximum.\n\n", reportStorm, first)

	fmt.Fprintln(w, "| N | loss | trials | crash → dead at all: p50 | p99 | one update → 99.9%: p50 | p99 | join storm of 100 → 99.9% (per joiner): p50 | p99 |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for c, sp := range cells {
		var det, upd, storm []time.Duration
		missed := 0
		for _, t := range results[c] {
			if t.Detect >= 0 {
				det = append(det, t.Detect)
			}
			if t.Update >= 0 {
				upd = append(upd, t.Update)
			}
			storm = append(storm, t.Storm...)
			missed += t.StormMissed
		}
		stormNote := ""
		if missed > 0 {
			stormNote = fmt.Sprintf(" (%d joiners missed)", missed)
		}
		fmt.Fprintf(w, "| %d | %d%% | %d | %s | %s | %s | %s | %s | %s%s |\n", sp.n, sp.lossPPM/10_000, sp.trials,
			sec(det, 0.5), sec(det, 0.99), sec(upd, 0.5), sec(upd, 0.99), sec(storm, 0.5), sec(storm, 0.99), stormNote)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | loss | member-hours (each) | false suspicions /member-h, Lifeguard on | off | off/on | false deaths /member-h, on | off | packets /member/s | bytes /member/s | kbit/s |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var errs []string
	for c, sp := range cells {
		var on, off swimsim.FalseCounts
		var pk, by float64
		for _, t := range results[c] {
			on.Add(t.FPOn)
			off.Add(t.FPOff)
			pk += t.Rate.Packets
			by += t.Rate.Bytes
			errs = append(errs, t.Errors...)
		}
		k := float64(max(len(results[c]), 1))
		sOn, dOn := on.PerMemberHour()
		sOff, dOff := off.PerMemberHour()
		ratio := "—"
		if on.Suspicions > 0 {
			ratio = fmt.Sprintf("%.1f×", float64(off.Suspicions)/float64(on.Suspicions))
		} else if off.Suspicions > 0 {
			ratio = fmt.Sprintf("> %d× (none on)", off.Suspicions)
		}
		fmt.Fprintf(w, "| %d | %d%% | %.1f | %.3f | %.3f | %s | %.3f | %.3f | %.1f | %.0f | %.1f |\n", sp.n, sp.lossPPM/10_000, on.MemberHours,
			sOn, sOff, ratio, dOn, dOff, pk/k, by/k, by/k*8/1000)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "An accusation counts once per (member, incarnation), however many members hear of it; every member is healthy, so every one is false. "+
		"Traffic is datagram and stream payload bytes sent during the quiet period with Lifeguard on (no UDP/IP or TCP headers).")
	if len(errs) > 0 {
		code = 1
		fmt.Fprintln(w, "\nStages that did not finish:")
		slices.Sort(errs)
		for _, e := range errs {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
	return code
}

// sec formats the q-quantile of ds in seconds ("—" for none).
func sec(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f s", swimsim.Quantile(ds, q).Seconds())
}
