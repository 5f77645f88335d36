// Command swimsim runs the deterministic SWIM pool simulator (package
// jepsen/swimsim) over seeds, and measures the gossip figures.
//
//	go run ./cmd/swimsim -seeds 200                 # seeds 1..200
//	go run ./cmd/swimsim -seed 42 -members 9 -v     # replay one seed
//	go run ./cmd/swimsim -measure detect -members 5 -trials 200
//	go run ./cmd/swimsim -measure dissem -members 1000 -loss 0.1
//	go run ./cmd/swimsim -measure fp -members 50 -hours 1
//
// It exits 1 on any violation, printing the replay command of each
// failing seed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/agentd/agentd/jepsen/swimsim"
)

func main() {
	seeds := flag.Int("seeds", 0, "run seeds first..first+N-1")
	first := flag.Uint64("first", 1, "first seed of -seeds")
	seed := flag.Uint64("seed", 0, "run this one seed (overrides -seeds)")
	members := flag.Int("members", 0, "pool size (0: drawn per seed, 3..8)")
	preset := flag.String("preset", "", "swim config: lan, local or wan (\"\": drawn per seed)")
	verbose := flag.Bool("v", false, "print progress lines (and the event trace with -seed)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parallel runs")
	measure := flag.String("measure", "", "measure a figure instead: detect, dissem, fp")
	trials := flag.Int("trials", 0, "trials of -measure (default per figure)")
	loss := flag.Float64("loss", 0, "datagram loss of -measure dissem (0..1)")
	hours := flag.Float64("hours", 1, "simulated hours of -measure fp")
	flag.Parse()

	switch {
	case *measure != "":
		os.Exit(runMeasure(*measure, *members, *trials, *loss, *hours, *first, *workers))
	case *seed != 0:
		os.Exit(runOne(swimsim.Options{Seed: *seed, Members: *members, Preset: *preset}, *verbose))
	case *seeds > 0:
		os.Exit(runCampaign(*first, *seeds, *members, *preset, *workers, *verbose))
	default:
		flag.Usage()
		os.Exit(2)
	}
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

func runCampaign(first uint64, n, members int, preset string, workers int, verbose bool) int {
	results := make([]swimsim.Result, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				r := swimsim.Run(swimsim.Options{Seed: first + uint64(i), Members: members, Preset: preset})
				r.History = nil // keep memory flat over long campaigns
				results[i] = r
				if verbose {
					mu.Lock()
					fmt.Printf("seed %d: members %d  virtual %v  violations %d\n", r.Seed, r.Swarm.Members, r.Virtual, len(r.Violations))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	var s swimsim.Summary
	for _, r := range results {
		s.Record(r)
	}
	s.Print(os.Stdout)
	return report(os.Stdout, results, func(seed uint64) swimsim.Options {
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
