package clock

import (
	"math/rand/v2"
	"time"
)

// Clock tells time and schedules callbacks.
type Clock interface {
	// Now returns the current (possibly virtual) time.
	Now() time.Time
	// AfterFunc calls f once, d after now, unless the timer is stopped.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened; it reports whether it
	// stopped it.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// NewRand returns a deterministic randomness source for seed. Subsystems
// take their own sub-seeded source (Sub) so that adding a draw in one does
// not shift another's sequence.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Sub derives an independent source from r, named by stream so that the
// derivation is stable.
func Sub(r *rand.Rand, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(r.Uint64(), stream))
}
