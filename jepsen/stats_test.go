package jepsen

import (
	"testing"

	"github.com/agentd/agentd/jepsen/check"

	"github.com/stretchr/testify/require"
)

// TestCheckFloorsCampaignSize: campaign-wide floors bind only from
// MinFloorSeeds seeds; the per-seed floor binds always.
func TestCheckFloorsCampaignSize(t *testing.T) {
	f := Floors{FaultsPer1000Seeds: 100, AckedPerSeed: 200, MedianLeaderChanges: 2}
	summary := func(seeds, acked int) *Summary {
		var s Summary
		for i := range seeds {
			s.Record(Result{Seed: uint64(i + 1), Stats: Stats{Runs: 1, OpsAcked: acked}})
		}
		return &s
	}
	for _, tc := range []struct {
		name         string
		seeds, acked int
		wantLines    bool
	}{
		{"few seeds, no faults, enough acked", 3, 300, false},
		{"few seeds, too few acked", 3, 100, true},
		{"just below the size, no faults", MinFloorSeeds - 1, 300, false},
		{"at the size, no faults", MinFloorSeeds, 300, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summary(tc.seeds, tc.acked).CheckFloors(f)
			require.Equal(t, tc.wantLines, len(got) > 0, "%v", got)
		})
	}
}

// TestUndecidedSeeds: a run Porcupine could not decide is no failure of
// the campaign, up to one per MaxUndecidedPer seeds.
func TestUndecidedSeeds(t *testing.T) {
	f := Floors{AckedPerSeed: 1}
	for _, tc := range []struct {
		seeds, undecided int
		wantLines        bool
	}{
		{MinFloorSeeds, 0, false},
		{1000, 1000 / MaxUndecidedPer, false},
		{1000, 1000/MaxUndecidedPer + 1, true},
		{3, 1, false}, // below MinFloorSeeds: no ceiling
	} {
		var s Summary
		for i := range tc.seeds {
			r := Result{Seed: uint64(i + 1), Stats: Stats{Runs: 1, OpsAcked: 5, LeaderChanges: 0}}
			if i < tc.undecided {
				r.Violation = &check.Violation{Checker: check.Undecided}
			}
			s.Record(r)
		}
		require.Empty(t, s.Failed)
		require.Len(t, s.Undecided, tc.undecided)
		got := s.CheckFloors(f)
		require.Equal(t, tc.wantLines, len(got) > 0, "%d seeds, %d undecided: %v", tc.seeds, tc.undecided, got)
	}
}
