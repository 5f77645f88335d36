package swimsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/swim"
)

// probeBase is base() plus a probe window over [200 s, 260 s] in which
// a, b and d (c crashed at 100 s and is dead everywhere) each hold the 2
// others live and probe them round-robin, one probe a second: a's order
// is b d | d b | b d ..., so its longest run without b is 2 = 2N−2.
func probeBase() *History {
	h := base()
	h.ProbeWindows = []ProbeWindow{{Interval{200 * s, 260 * s}, map[string]int{"a": 2, "b": 2, "d": 2}}}
	orders := map[string][][2]string{
		"a": {{"b", "d"}, {"d", "b"}},
		"b": {{"a", "d"}, {"d", "a"}},
		"d": {{"a", "b"}, {"b", "a"}},
	}
	for i := range 30 {
		for x, o := range orders {
			round := o[i%2]
			h.Probes = append(h.Probes,
				Probe{At: 200*s + time.Duration(2*i)*s, Prober: x, Target: round[0]},
				Probe{At: 201*s + time.Duration(2*i)*s, Prober: x, Target: round[1]})
		}
	}
	return h
}

func TestProbeOrderChecker(t *testing.T) {
	// setRun makes a's probes from the ith on go to d, n of them, and
	// the two around them to b: a run of exactly n without b.
	setRun := func(h *History, i, n int) {
		k := 0
		for j := range h.Probes {
			if h.Probes[j].Prober != "a" {
				continue
			}
			switch {
			case k >= i && k < i+n:
				h.Probes[j].Target = "d"
			case k == i-1 || k == i+n:
				h.Probes[j].Target = "b"
			}
			k++
		}
	}
	for _, tc := range []struct {
		name string
		edit func(h *History)
		want []Checker // nil: passes
	}{
		{"round-robin", func(*History) {}, nil},
		{"a skips b for 2N+2 probes: within the slack", func(h *History) { setRun(h, 10, 6) }, nil},
		{"a skips b for 2N+3 probes", func(h *History) { setRun(h, 10, 7) }, []Checker{CheckProbeOrder}},
		{"a never probes b again up to the window's end", func(h *History) { setRun(h, 50, 10) }, []Checker{CheckProbeOrder}},
		{"a's long run before the window is not judged", func(h *History) {
			h.ProbeWindows[0].Start = 230 * s
			setRun(h, 20, 9) // probes at 220..228 s
		}, nil},
		{"b crashed within the window: not judged", func(h *History) {
			setRun(h, 10, 20)
			h.Faults = append(h.Faults, Fault{FaultCrash, "b", Interval{250 * s, Forever}})
		}, []Checker{CheckDetect, CheckDetect, CheckConverge, CheckConverge}},
		{"a held b dead within the window: not judged", func(h *History) {
			setRun(h, 10, 20)
			h.Records = append(h.Records,
				Record{At: 215 * s, Observer: "a", Type: swim.EventFail, Subject: "b", Inc: 1},
				Record{At: 240 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 2})
		}, []Checker{CheckNoFalseDeath}},
		{"a larger table allows a longer run", func(h *History) {
			h.ProbeWindows[0].N["a"] = 4
			setRun(h, 10, 10)
		}, nil},
		{"... but not beyond 2N+2", func(h *History) {
			h.ProbeWindows[0].N["a"] = 4
			setRun(h, 10, 11)
		}, []Checker{CheckProbeOrder}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := probeBase()
			tc.edit(h)
			require.Equal(t, tc.want, checkers(Check(h)))
		})
	}
}

func TestJoinBackoff(t *testing.T) {
	for _, tc := range []struct {
		k    int
		want time.Duration
	}{
		{1, 0}, {2, s}, {3, 3 * s}, {4, 7 * s}, {5, 15 * s}, {6, 23 * s}, {7, 31 * s},
	} {
		require.Equal(t, tc.want, joinBackoff(s, tc.k), "attempt %d", tc.k)
	}
}

// TestWireSniffing runs a small pool and checks that the probes and
// joins read off the wire are what the cores did: every member probes,
// only members, and every joiner's answer completed its join.
func TestWireSniffing(t *testing.T) {
	sw := drawSwarm(7, 5, "lan")
	s := newSim(7, presets[sw.Preset])
	for range sw.Members {
		s.add()
	}
	s.probeWatch = true
	require.True(t, s.bootstrap(sw.Members, bootstrapLimit))
	s.runUntil(s.w.Now()+20*time.Second, time.Second, nil)
	require.Empty(t, s.violations)
	probers := map[string]int{}
	for _, p := range s.h.Probes {
		_, known := s.byName[p.Target]
		require.True(t, known && p.Target != p.Prober, "probe %+v", p)
		probers[p.Prober]++
	}
	for _, m := range s.members {
		require.GreaterOrEqual(t, probers[m.name], 15, "%s's probes", m.name)
		require.Equal(t, m.name != "m000", m.joinW.answered, "%s's join answered", m.name)
	}
}
