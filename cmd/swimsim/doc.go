// Command swimsim runs the deterministic SWIM pool simulator (package
// jepsen/swimsim) over seeds, and measures the gossip figures.
//
//	go run ./cmd/swimsim -seeds 200                 # seeds 1..200
//	go run ./cmd/swimsim -seed 42 -members 9 -v     # replay one seed
//	go run ./cmd/swimsim -measure detect -members 5 -trials 200
//	go run ./cmd/swimsim -measure dissem -members 1000 -loss 0.1
//	go run ./cmd/swimsim -measure fp -members 50 -hours 1
//	go run ./cmd/swimsim -report -trials 10 -trials1000 1  # markdown tables
//	                                 # (detection: 200 trials at N = 5, 100 at N = 100)
//	go run ./cmd/swimsim -bench 1000                       # simulator speed
//
// It exits 1 on any violation, printing the replay command of each
// failing seed.
package main
