package swimsim

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A few seeds of the full swarm at small pools must pass every checker.
func TestRunSeeds(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		o := Options{Seed: seed}
		r := Run(o)
		require.Empty(t, r.Violations, "seed %d: replay with %s", seed, ReplayCommand(o))
		require.GreaterOrEqual(t, r.Converged, time.Duration(0), "seed %d never converged after the heal", seed)
	}
}

// One seed gives one run: the same seed twice yields the same event
// trace, byte for byte, and the same figures.
func TestDeterminism(t *testing.T) {
	run := func() (Result, [32]byte, int) {
		var b bytes.Buffer
		r := Run(Options{Seed: 7, Members: 6, Trace: &b})
		return r, sha256.Sum256(b.Bytes()), b.Len()
	}
	r1, h1, n1 := run()
	r2, h2, n2 := run()
	require.Greater(t, n1, 1000, "trace suspiciously short")
	require.Equal(t, n1, n2)
	require.Equal(t, h1, h2, "traces differ")
	require.Equal(t, r1.Steps, r2.Steps)
	require.Equal(t, r1.Detection, r2.Detection)
	require.Equal(t, r1.Dissemination, r2.Dissemination)
	require.Equal(t, r1.History.Records, r2.History.Records)
}

// A different seed gives a different run (the seed is actually used).
func TestSeedsDiffer(t *testing.T) {
	var a, b bytes.Buffer
	Run(Options{Seed: 1, Members: 4, Trace: &a})
	Run(Options{Seed: 2, Members: 4, Trace: &b})
	require.NotEqual(t, a.String(), b.String())
}

func TestMeasureDetectionSmallPool(t *testing.T) {
	d, err := MeasureDetection(3, 5)
	require.NoError(t, err)
	require.Greater(t, d, time.Second)
	require.Less(t, d, 30*time.Second)
}

func TestMeasureDisseminationSmallPool(t *testing.T) {
	d, err := MeasureDissemination(3, 30, 100_000)
	require.NoError(t, err)
	require.Less(t, d, 5*time.Second)
}
