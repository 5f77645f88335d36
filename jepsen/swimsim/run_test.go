package swimsim

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/swim"
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
	d, err := MeasureDetection(3, 5, 0)
	require.NoError(t, err)
	require.Greater(t, d.FirstSuspect, time.Second, "a probe period at least")
	require.GreaterOrEqual(t, d.FirstDead-d.FirstSuspect, 4*time.Second, "the minimum suspicion at N = 5")
	require.GreaterOrEqual(t, d.All, d.FirstDead)
	require.Less(t, d.All, 30*time.Second)
}

func TestMeasureDisseminationSmallPool(t *testing.T) {
	d, err := MeasureDissemination(3, 30, 100_000)
	require.NoError(t, err)
	require.Less(t, d, 5*time.Second)
}

// The swarm's pool sizes span 3–200, mostly small.
func TestDrawMembersSpans(t *testing.T) {
	lo, hi, small := MaxSwarmMembers, 0, 0
	const seeds = 3000
	for seed := uint64(1); seed <= seeds; seed++ {
		n := drawSwarm(seed, 0, "").Members
		require.GreaterOrEqual(t, n, MinSwarmMembers)
		require.LessOrEqual(t, n, MaxSwarmMembers)
		lo, hi = min(lo, n), max(hi, n)
		if n <= 10 {
			small++
		}
	}
	require.Equal(t, MinSwarmMembers, lo)
	require.GreaterOrEqual(t, hi, 195)
	require.InDelta(t, 0.7, float64(small)/seeds, 0.05)
}

// One mid-sized pool through the whole swarm, so that the tests see the
// log-scaled timeouts and larger partitions too.
func TestRunSeedMidPool(t *testing.T) {
	if testing.Short() {
		t.Skip("mid-sized pool")
	}
	o := Options{Seed: 11, Members: 40}
	r := Run(o)
	require.Empty(t, r.Violations, "replay with %s", ReplayCommand(o))
	require.GreaterOrEqual(t, r.Converged, time.Duration(0))
}

func TestRunTrialSmallPool(t *testing.T) {
	tr := RunTrial(1, 10, 100_000, 2*time.Minute, 10)
	require.Empty(t, tr.Errors)
	require.Greater(t, tr.Update, time.Duration(0))
	require.Less(t, tr.Update, 5*time.Second)
	require.Greater(t, tr.Detect, time.Second)
	require.Len(t, tr.Storm, 10)
	require.Zero(t, tr.StormMissed)
	require.InDelta(t, 10*2.0/60, tr.FPOn.MemberHours, 1e-9)
	require.Greater(t, tr.Rate.Packets, 1.0, "a member sends at least its probe each second")
	require.Greater(t, tr.Rate.Bytes, 10*tr.Rate.Packets)
}

func TestBenchSmallPool(t *testing.T) {
	r, err := Bench(1, 30, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, r.Virtual)
	require.Greater(t, r.Steps, uint64(30*30))
	require.Greater(t, r.Rate.Packets, 1.0)
}

// The detection floor model (floor.go): quantiles over many draws,
// against the budget worked out by hand. N = 5 LAN: the first accusation
// comes one period after the first of 4 members' probes of the victim
// (each probes it once per 4-period round), then the 4 s minimum once two
// more members' probes confirm it. N = 100: the first probe of the victim
// by any of 99 members is close to exponential with a mean of one period
// (p99 ≈ 4.6 periods), then the 8 s minimum.
func TestDetectionFloor(t *testing.T) {
	for _, tc := range []struct {
		n              int
		p50lo, p50hi   time.Duration
		p99lo, p99hi   time.Duration
		minimum, worst time.Duration
	}{
		{5, 5 * time.Second, 6500 * time.Millisecond, 7 * time.Second, 9 * time.Second, 5 * time.Second, 24*time.Second + 9*time.Second},
		{100, 9 * time.Second, 10500 * time.Millisecond, 12500 * time.Millisecond, 14500 * time.Millisecond, 9 * time.Second, 48*time.Second + 199*time.Second},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		cfg := swim.LANConfig("x", "x", nil)
		var ds []time.Duration
		for range 20000 {
			ds = append(ds, DetectionFloor(cfg, tc.n, r))
		}
		p50, p99 := Quantile(ds, 0.5), Quantile(ds, 0.99)
		require.True(t, p50 >= tc.p50lo && p50 <= tc.p50hi, "N=%d p50 %v", tc.n, p50)
		require.True(t, p99 >= tc.p99lo && p99 <= tc.p99hi, "N=%d p99 %v", tc.n, p99)
		require.GreaterOrEqual(t, Quantile(ds, 0), tc.minimum, "N=%d: one period's probe plus the minimum suspicion at least", tc.n)
		require.LessOrEqual(t, Quantile(ds, 1), tc.worst, "N=%d", tc.n)
	}
}
