// Package parallel runs independent, indexed jobs on a fixed number of
// worker goroutines: the seed campaigns of cmd/sim and cmd/swimsim, where
// each job (one simulated run) is itself single-threaded and deterministic,
// so running several at once changes nothing but the wall time.
package parallel
