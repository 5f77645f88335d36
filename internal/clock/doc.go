// Package clock is the one seam through which drivers and the simulator see
// time and randomness. Production uses Real; the simulator (package jepsen)
// provides a virtual clock that jumps from event to event.
//
// Callbacks given to AfterFunc may run on another goroutine (Real) or on
// the simulator's single goroutine (virtual): callers must not assume either.
package clock
