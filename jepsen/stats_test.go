package jepsen

import (
	"testing"

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
