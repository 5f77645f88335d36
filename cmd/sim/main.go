package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/agentd/agentd/internal/parallel"
	"github.com/agentd/agentd/jepsen"
	"github.com/agentd/agentd/jepsen/check"
)

func main() {
	seeds := flag.Int("seeds", 0, "run seeds first..first+N-1")
	first := flag.Uint64("first", 1, "first seed of -seeds")
	seed := flag.Uint64("seed", 0, "run this one seed (overrides -seeds)")
	tracePath := flag.String("trace", "", "write the trace of -seed to this file")
	verbose := flag.Bool("v", false, "print progress lines of each run")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parallel runs")
	failover := flag.Int("failover", 0, "measure leader failover over N trials")
	stopFirst := flag.Bool("stop-on-failure", false, "stop the campaign at the first failing seed")
	stopSafety := flag.Bool("stop-on-safety", false, "stop the campaign at the first seed failing a safety checker (liveness failures and panics do not stop it)")
	floors := flag.Bool("floors", true, "enforce the coverage floors (for -seeds >= 1000 they are as stated; smaller campaigns scale them; below 100 seeds only the per-seed floor)")
	speed := flag.Int("speed", 0, "measure simulated time per wall and CPU second over N seeds of a five-voter cluster, one seed at a time")
	calm := flag.Bool("calm", false, "with -speed: no faults (the swarm's clients, network delays and disk latency only)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole command to this file")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// A run allocates a lot of short-lived garbage (messages, events,
		// WAL records) in a small heap: collecting at 5x the live heap
		// instead of 2x cuts the CPU cost by a quarter for ~40 MB of RSS.
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// os.Exit skips defers: stop the profile before every exit.
		exit := func(code int) { pprof.StopCPUProfile(); f.Close(); os.Exit(code) }
		osExit = exit
	}

	switch {
	case *failover > 0:
		osExit(runFailover(*failover, *first, *workers))
	case *speed > 0:
		osExit(runSpeed(*speed, *first, *calm))
	case *seed != 0:
		osExit(runOne(*seed, *tracePath, *verbose))
	case *seeds > 0:
		osExit(runCampaign(*first, *seeds, *workers, *verbose, *stopFirst, *stopSafety, *floors))
	default:
		flag.Usage()
		osExit(2)
	}
}

// osExit is os.Exit, or a wrapper that first flushes the CPU profile.
var osExit = os.Exit

func runOne(seed uint64, tracePath string, verbose bool) int {
	opt := jepsen.Options{Seed: seed}
	if verbose {
		opt.Log = os.Stdout
	}
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer f.Close()
		opt.Trace = f
	}
	r := jepsen.Run(opt)
	var s jepsen.Summary
	s.Record(r)
	s.Print(os.Stdout)
	if r.Violation != nil {
		printFailure(os.Stdout, r)
		return 1
	}
	return 0
}

func printUndecided(w io.Writer, r jepsen.Result) {
	fmt.Fprintf(w, "UNDECIDED seed %d (not a failure: the linearizability check ran out of time): %s\n  replay: %s\n", r.Seed, r.Violation, jepsen.ReplayCommand(r.Seed))
}

func printFailure(w io.Writer, r jepsen.Result) {
	fmt.Fprintf(w, "FAIL seed %d: %s\n  replay: %s\n", r.Seed, r.Violation, jepsen.ReplayCommand(r.Seed))
}

func runCampaign(first uint64, n, workers int, verbose, stopFirst, stopSafety, enforce bool) int {
	start := time.Now()
	results := make([]jepsen.Result, n)
	var mu sync.Mutex
	next, done, failed := 0, 0, false
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n || ((stopFirst || stopSafety) && failed) {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				opt := jepsen.Options{Seed: first + uint64(i)}
				r := jepsen.Run(opt)
				mu.Lock()
				results[i] = r
				done++
				if r.Violation != nil {
					if r.Violation.Checker == check.Undecided {
						printUndecided(os.Stdout, r) // counted, not a failure (jepsen.Summary)
					} else {
						if !stopSafety || check.IsSafety(r.Violation.Checker) {
							failed = true
						}
						printFailure(os.Stdout, r)
					}
				}
				if verbose || done%50 == 0 || done == n {
					fmt.Printf("progress: %d/%d seeds, %v elapsed\n", done, n, time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var s jepsen.Summary
	for _, r := range results {
		if r.Stats.Runs > 0 {
			s.Record(r)
		}
	}
	fmt.Println("---- summary ----")
	s.Print(os.Stdout)
	fmt.Printf("wall time: %v with %d workers\n", time.Since(start).Round(time.Millisecond), workers)
	code := 0
	if len(s.Undecided) > 0 {
		fmt.Printf("undecided seeds (Porcupine out of time; not failures): %d\n", len(s.Undecided))
		for _, r := range s.Undecided {
			printUndecided(os.Stdout, r)
		}
	}
	if len(s.Failed) > 0 {
		fmt.Printf("FAILED seeds: %d\n", len(s.Failed))
		for _, r := range s.Failed {
			printFailure(os.Stdout, r)
		}
		code = 1
	}
	if enforce && !stopFirst && !stopSafety {
		if low := s.CheckFloors(jepsen.DefaultFloors); len(low) > 0 {
			for _, l := range low {
				fmt.Println("BELOW FLOOR:", l)
			}
			code = 1
		} else if n < jepsen.MinFloorSeeds {
			fmt.Printf("floors: per-seed floor met; campaign-wide floors apply from %d seeds\n", jepsen.MinFloorSeeds)
		} else {
			fmt.Println("floors: all met")
		}
	}
	return code
}

func runFailover(trials int, first uint64, workers int) int {
	start := time.Now()
	ds := make([]time.Duration, trials)
	oks := make([]bool, trials)
	parallel.For(trials, workers, func(i int) {
		ds[i], oks[i] = jepsen.FailoverTrial(first + uint64(i))
	})
	var got []time.Duration
	failed := 0
	for i, ok := range oks {
		if ok {
			got = append(got, ds[i])
		} else {
			failed++
		}
	}
	med, p99 := jepsen.Percentile(got, 50), jepsen.Percentile(got, 99)
	fmt.Printf("failover: %d trials (%d without recovery), crash of the leader to next committed write (virtual time)\n", trials, failed)
	fmt.Printf("  median %v  p99 %v  max %v   (targets: median <= 400ms, p99 <= 1s)\n",
		med.Round(time.Millisecond), p99.Round(time.Millisecond), jepsen.Percentile(got, 100).Round(time.Millisecond))
	fmt.Printf("  wall time %v\n", time.Since(start).Round(time.Millisecond))
	if failed > 0 || med > 400*time.Millisecond || p99 > time.Second {
		return 1
	}
	return 0
}
