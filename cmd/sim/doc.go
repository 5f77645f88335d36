// Command sim runs the deterministic Raft simulator (package jepsen).
//
//	go run ./cmd/sim -seeds 1000            # seeds 1..1000 in parallel workers
//	go run ./cmd/sim -seed 42 -trace t.txt  # replay one seed, write its trace
//	go run ./cmd/sim -failover 1000         # leader-failover latency figures
//	go run ./cmd/sim -speed 20              # speed of 5-node clusters under load, one at a time
//
// It exits non-zero on any violation, and when a campaign of -seeds falls
// below the coverage floors it prints.
package main
