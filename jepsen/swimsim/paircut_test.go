package swimsim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/swim"
)

// cutBase is base() plus a quiet pair cut of a and b over [240 s, 280 s]:
// no loss from 220 s (one AccuseWindow of lead-in) until the cut ends, the
// base loss again from then on. Members a, b, d are up: K+2 = 3.
func cutBase() *History {
	h := base()
	h.Loss = []LossPeriod{{Interval{0, 220 * s}, 50_000}, {Interval{220 * s, 280 * s}, 0}, {Interval{280 * s, Forever}, 50_000}}
	h.PairCuts = []PairCut{{Interval{240 * s, 280 * s}, "a", "b"}}
	return h
}

func TestIndirectChecker(t *testing.T) {
	suspect := func(at time.Duration, observer, subject string, inc swim.Incarnation) Record {
		return Record{At: at, Observer: observer, Type: swim.EventSuspect, Subject: subject, Inc: inc}
	}
	for _, tc := range []struct {
		name string
		edit func(h *History)
		want []Checker // nil: passes
	}{
		{"quiet cut, no suspicion", func(*History) {}, nil},
		{"a suspects b across the cut", func(h *History) {
			h.Records = append(h.Records, suspect(250*s, "a", "b", 2))
		}, []Checker{CheckIndirect}},
		{"b suspects a at the cut's first instant", func(h *History) {
			h.Records = append(h.Records, suspect(240*s, "b", "a", 0))
		}, []Checker{CheckIndirect}},
		{"b declares a dead across the cut", func(h *History) {
			h.Records = append(h.Records, Record{At: 270 * s, Observer: "b", Type: swim.EventFail, Subject: "a", Inc: 3})
		}, []Checker{CheckNoFalseDeath, CheckIndirect}},
		{"a suspects b after the cut healed", func(h *History) {
			h.Records = append(h.Records, suspect(281*s, "a", "b", 2))
		}, nil},
		{"d suspects b in the quiet window: no one accuses a running member", func(h *History) {
			h.Records = append(h.Records, suspect(250*s, "d", "b", 2))
		}, []Checker{CheckIndirect}},
		{"d suspects b in the judged half of the lead-in", func(h *History) {
			h.Records = append(h.Records, suspect(235*s, "d", "b", 2))
		}, []Checker{CheckIndirect}},
		{"d suspects b in the first half of the lead-in (probes begun under loss)", func(h *History) {
			h.Records = append(h.Records, suspect(225*s, "d", "b", 2))
		}, nil},
		{"a hears of an accusation that began before the judged window", func(h *History) {
			h.Records = append(h.Records, suspect(225*s, "d", "b", 1), suspect(241*s, "a", "b", 1))
		}, nil},
		{"loss during the lead-in: not judged", func(h *History) {
			h.Loss = []LossPeriod{{Interval{0, 230 * s}, 50_000}, {Interval{230 * s, 280 * s}, 0}, {Interval{280 * s, Forever}, 50_000}}
			h.Records = append(h.Records, suspect(250*s, "a", "b", 2))
		}, nil},
		{"a relay paused during the cut: not judged", func(h *History) {
			h.Faults = append(h.Faults, Fault{FaultPause, "d", Interval{250 * s, 255 * s}})
			h.Records = append(h.Records, suspect(252*s, "a", "b", 2))
		}, nil},
		{"a partition during the lead-in: not judged", func(h *History) {
			h.Partitions = append(h.Partitions, Partition{Interval{225 * s, 230 * s}, []string{"d"}, false})
			h.Records = append(h.Records, suspect(250*s, "a", "b", 2))
		}, nil},
		{"a crash during the cut: not judged", func(h *History) {
			h.Faults = append(h.Faults, Fault{FaultCrash, "d", Interval{260 * s, Forever}})
			delete(h.Final, "d")
			for _, o := range []string{"a", "b"} {
				h.Records = append(h.Records, Record{At: 265 * s, Observer: o, Type: swim.EventFail, Subject: "d"})
				h.Final[o]["d"] = View{State: swim.StateDead}
			}
			h.Records = append(h.Records, suspect(250*s, "a", "b", 2))
		}, nil},
		{"too few relays for K: not judged", func(h *History) {
			h.K = 2 // a, b, d up: K+2 = 4
			h.Records = append(h.Records, suspect(250*s, "a", "b", 2))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cutBase()
			tc.edit(h)
			got := Check(h)
			require.Equal(t, tc.want, checkers(dedupe(got)), "violations: %v", got)
		})
	}
}

// A member of the pair that still counts a crashed member live at the
// cut's start may pick it as a relay: the cut is not judged.
func TestPairCutQuietNeedsCrashesOutOfThePairsViews(t *testing.T) {
	h := cutBase()
	require.True(t, h.pairCutQuiet(h.PairCuts[0], h.timelines()))
	var kept []Record
	for _, r := range h.Records {
		if !(r.Observer == "b" && r.Subject == "c" && r.Type == swim.EventFail) {
			kept = append(kept, r)
		}
	}
	h.Records = kept
	require.False(t, h.pairCutQuiet(h.PairCuts[0], h.timelines()))
}

// About half the seeds draw a pair cut, each 30–120 s long.
func TestDrawPairCut(t *testing.T) {
	r := rand.New(rand.NewPCG(1, streamPairCut))
	n := 0
	const draws = 2000
	for range draws {
		d := drawPairCut(r)
		if d == 0 {
			continue
		}
		n++
		require.GreaterOrEqual(t, d, minPairCut)
		require.LessOrEqual(t, d, maxPairCut)
	}
	require.InDelta(t, pairCutShare, float64(n)/draws, 0.05)
}

// End to end: without ping-req relays (IndirectChecks 0) nothing bridges
// the cut link, so the pair cut of seed 2 (8 members, local preset) must
// end in suspicions that checker 8 reports; with the preset's relay it
// passes (TestRunSeeds).
func TestPairCutWithoutRelaysIsCaught(t *testing.T) {
	o := Options{Seed: 2, Tweak: func(c *swim.Config) { c.IndirectChecks = 0 }}
	require.Positive(t, drawSwarm(o.Seed, 0, "").PairCut, "seed 2 no longer draws a pair cut: pick another")
	r := Run(o)
	require.Equal(t, 1, r.Faults.PairCut)
	require.Equal(t, 1, r.PairCutsJudged)
	require.Contains(t, checkers(r.Violations), CheckIndirect, "violations: %v", r.Violations)
}
