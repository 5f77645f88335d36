package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen/swimsim"
)

func main() {
	seeds := flag.Int("seeds", 0, "run seeds first..first+N-1")
	first := flag.Uint64("first", 1, "first seed of -seeds")
	seed := flag.Uint64("seed", 0, "run this one seed (overrides -seeds)")
	members := flag.Int("members", 0, "pool size (0: drawn per seed, 3..200, mostly small)")
	preset := flag.String("preset", "", "swim config: lan, local or wan (\"\": drawn per seed)")
	verbose := flag.Bool("v", false, "print progress lines (and the event trace with -seed)")
	failfast := flag.Bool("failfast", false, "with -seeds: stop at the first failing seed (runs in flight are aborted)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parallel runs")
	measure := flag.String("measure", "", "measure a figure instead: detect, dissem, fp")
	trials := flag.Int("trials", 0, "trials of -measure (default per figure)")
	loss := flag.Float64("loss", 0, "datagram loss of -measure dissem (0..1)")
	hours := flag.Float64("hours", 1, "simulated hours of -measure fp")
	bench := flag.Int("bench", 0, "time the simulator on a fault-free LAN pool of this size (e.g. 1000)")
	minutes := flag.Float64("minutes", 1, "simulated minutes of -bench after bootstrap")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	report := flag.Bool("report", false, "print the gossip report (markdown): N = 10, 100, 1000 at 0/5/10% loss")
	trials1000 := flag.Int("trials1000", 1, "trials per N = 1000 cell of -report")
	sizes := flag.String("sizes", "10,100,1000", "pool sizes of -report")
	dtrials5 := flag.Int("dtrials5", 200, "crash-detection trials at N = 5 (per loss) of -report")
	dtrials100 := flag.Int("dtrials100", 100, "crash-detection trials at N = 100 (per loss) of -report")
	flag.Parse()

	stop := func() {}
	if *cpuprofile != "" {
		var err error
		if stop, err = startProfile(*cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if *report || *bench > 0 {
		// Pools of 1000 allocate fast and hold a few hundred MB live: trade
		// memory for fewer collections.
		debug.SetGCPercent(400)
	}
	if *report {
		var ns []int
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 3 {
				fmt.Fprintf(os.Stderr, "bad -sizes %q\n", *sizes)
				os.Exit(2)
			}
			ns = append(ns, n)
		}
		code := runReport(os.Stdout, ns, *first, or(*trials, 10), *trials1000, *dtrials5, *dtrials100, *workers)
		stop()
		os.Exit(code)
	}
	code := run(*measure, *bench, *minutes, *seed, *seeds, *first, *members, *preset, *trials, *loss, *hours, *workers, *verbose, *failfast)
	stop()
	os.Exit(code)
}

func run(measure string, bench int, minutes float64, seed uint64, seeds int, first uint64, members int, preset string,
	trials int, loss, hours float64, workers int, verbose, failfast bool) int {
	switch {
	case bench > 0:
		return runBench(first, bench, time.Duration(minutes*float64(time.Minute)))
	case measure != "":
		return runMeasure(measure, members, trials, loss, hours, first, workers, verbose)
	case seed != 0:
		return runOne(swimsim.Options{Seed: seed, Members: members, Preset: preset}, verbose)
	case seeds > 0:
		return runCampaign(first, seeds, members, preset, workers, verbose, failfast)
	}
	flag.Usage()
	return 2
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("swimsim: cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("swimsim: cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runBench prints the simulator's speed on one fault-free LAN pool.
func runBench(seed uint64, n int, d time.Duration) int {
	r, err := swimsim.Bench(seed, n, d)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Printf("bench: %d members, LAN, seed %d\n", n, seed)
	fmt.Printf("  bootstrap: %v simulated in %v real, %v CPU\n", r.BootstrapVirtual.Round(time.Millisecond),
		r.BootstrapWall.Round(time.Millisecond), r.BootstrapCPU.Round(time.Millisecond))
	perMin := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) / r.Virtual.Minutes()).Round(time.Millisecond)
	}
	fmt.Printf("  steady state: %v simulated in %v real, %v CPU (%d events): %v real, %v CPU per simulated minute\n",
		r.Virtual, r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond), r.Steps, perMin(r.Wall), perMin(r.CPU))
	fmt.Printf("  traffic per member: %.1f packets/s, %.0f B/s (%.1f kbit/s)\n", r.Rate.Packets, r.Rate.Bytes, r.Rate.KbitPerSec())
	return 0
}

func runOne(o swimsim.Options, verbose bool) int {
	if verbose {
		o.Log = os.Stdout
		o.Trace = os.Stdout
	}
	r := swimsim.Run(o)
	var s swimsim.Summary
	s.Record(r)
	s.Print(os.Stdout)
	return report(os.Stdout, []swimsim.Result{r}, func(seed uint64) swimsim.Options {
		return swimsim.Options{Seed: seed, Members: o.Members, Preset: o.Preset}
	})
}

// runCampaign runs seeds first..first+n-1. With failfast (the planted-bug
// script) it stops at the first failing seed: later seeds are not
// started and runs in flight are aborted, so a plant that keeps a pool
// from converging (each run then lasts its full liveness phase) costs one
// failing run, not a hundred.
func runCampaign(first uint64, n, members int, preset string, workers int, verbose, failfast bool) int {
	results := make([]swimsim.Result, n)
	var printMu sync.Mutex
	var failed atomic.Bool
	o := swimsim.Options{Members: members, Preset: preset}
	if failfast {
		o.Stop = failed.Load
	}
	parallel.For(n, workers, func(i int) {
		if failed.Load() && failfast {
			return
		}
		o := o
		o.Seed = first + uint64(i)
		r := swimsim.Run(o)
		r.History = nil // keep memory flat over long campaigns
		if len(r.Violations) > 0 {
			failed.Store(true)
		}
		results[i] = r
		if verbose {
			printMu.Lock()
			fmt.Printf("seed %d: members %d  virtual %v  violations %d\n", r.Seed, r.Swarm.Members, r.Virtual, len(r.Violations))
			printMu.Unlock()
		}
	})
	var s swimsim.Summary
	var ran []swimsim.Result
	skipped := 0
	for _, r := range results {
		if r.Seed == 0 || r.Aborted {
			skipped++
			continue
		}
		s.Record(r)
		ran = append(ran, r)
	}
	if skipped > 0 {
		fmt.Printf("failfast: %d of %d seeds not run or aborted after the first failure\n", skipped, n)
	}
	s.Print(os.Stdout)
	return report(os.Stdout, ran, func(seed uint64) swimsim.Options {
		return swimsim.Options{Seed: seed, Members: members, Preset: preset}
	})
}

// report prints each failing seed's first violations and replay command.
func report(w io.Writer, rs []swimsim.Result, opts func(uint64) swimsim.Options) int {
	code := 0
	for _, r := range rs {
		if len(r.Violations) == 0 {
			continue
		}
		code = 1
		fmt.Fprintf(w, "FAIL seed %d (%d violations):\n", r.Seed, len(r.Violations))
		for i, v := range r.Violations {
			if i == 3 {
				fmt.Fprintf(w, "  ... %d more\n", len(r.Violations)-3)
				break
			}
			fmt.Fprintf(w, "  %s\n", v)
		}
		fmt.Fprintf(w, "  replay: %s\n", swimsim.ReplayCommand(opts(r.Seed)))
	}
	if code == 0 {
		fmt.Fprintln(w, "PASS")
	}
	return code
}
