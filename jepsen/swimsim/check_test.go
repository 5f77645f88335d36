package swimsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/swim"
)

const s = time.Second

// base is a crafted 4-member history: a, b, c, d joined at 0; c crashed
// at 100 s; a, b, d declared it dead by 110 s; everyone else stayed
// alive. It passes every checker; each case below breaks one thing.
func base() *History {
	h := &History{
		Members:      []string{"a", "b", "c", "d"},
		K:            1,
		DetectBound:  30 * s,
		AccuseWindow: 20 * s,
		HealAt:       200 * s,
		End:          300 * s,
		Faults:       []Fault{{FaultCrash, "c", Interval{100 * s, Forever}}},
		Loss:         []LossPeriod{{Interval{0, Forever}, 50_000}},
		Final:        map[string]map[string]View{},
		Self:         map[string]View{},
	}
	for _, m := range h.Members {
		h.Updates = append(h.Updates, Update{Kind: UpdateJoin, Member: m})
		for _, o := range h.Members {
			if o != m {
				h.Records = append(h.Records, Record{At: time.Second, Observer: o, Type: swim.EventJoin, Subject: m})
			}
		}
	}
	for i, o := range []string{"a", "b", "d"} {
		h.Records = append(h.Records, Record{At: 105*s + time.Duration(i)*s, Observer: o, Type: swim.EventFail, Subject: "c"})
		h.Final[o] = map[string]View{}
		for _, m := range h.Members {
			st := swim.StateAlive
			if m == "c" {
				st = swim.StateDead
			}
			h.Final[o][m] = View{State: st}
		}
	}
	return h
}

func checkers(vs []Violation) []Checker {
	var out []Checker
	for _, v := range vs {
		out = append(out, v.Checker)
	}
	return out
}

func TestCheckersOnCraftedHistories(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(h *History)
		want []Checker // nil: passes
	}{
		{"clean", func(*History) {}, nil},
		{"crash never declared by d", func(h *History) {
			h.Records = h.Records[:len(h.Records)-1] // d's fail record
			h.Final["d"]["c"] = View{State: swim.StateAlive}
		}, []Checker{CheckDetect, CheckConverge}},
		{"crash declared after the bound", func(h *History) {
			h.Records[len(h.Records)-1].At = 100*s + 31*s
		}, []Checker{CheckDetect}},
		{"late declaration excused by a pause of the observer", func(h *History) {
			h.Records[len(h.Records)-1].At = 100*s + 40*s
			h.Faults = append(h.Faults, Fault{FaultPause, "d", Interval{90 * s, 120 * s}})
		}, nil},
		{"crashed member revived by a stale alive", func(h *History) {
			h.Records = append(h.Records, Record{At: 150 * s, Observer: "a", Type: swim.EventJoin, Subject: "c", Inc: 0})
		}, []Checker{CheckDetect}},
		{"crashed member revived by its own newer alive", func(h *History) {
			h.Records = append(h.Records,
				Record{At: 150 * s, Observer: "a", Type: swim.EventJoin, Subject: "c", Inc: 1},
				Record{At: 160 * s, Observer: "a", Type: swim.EventFail, Subject: "c", Inc: 1})
		}, nil},
		{"healthy member declared dead", func(h *History) {
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "a", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 55 * s, Observer: "a", Type: swim.EventFail, Subject: "b"},
				Record{At: 56 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 1})
		}, []Checker{CheckNoFalseDeath}},
		{"starved member declared dead", func(h *History) {
			h.Faults = append(h.Faults, Fault{FaultStarve, "b", Interval{40 * s, 60 * s}})
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "a", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 55 * s, Observer: "a", Type: swim.EventFail, Subject: "b"})
		}, nil},
		{"healthy member declared dead on a starved member's accusation", func(h *History) {
			h.Faults = append(h.Faults, Fault{FaultStarve, "d", Interval{40 * s, 60 * s}})
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "d", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 55 * s, Observer: "a", Type: swim.EventFail, Subject: "b"})
		}, []Checker{CheckNoFalseDeath}},
		{"declaration across a partition", func(h *History) {
			h.Partitions = append(h.Partitions, Partition{Interval{40 * s, 70 * s}, []string{"a"}, false})
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "a", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 55 * s, Observer: "a", Type: swim.EventFail, Subject: "b"},
				// the accusation leaks to d after the heal
				Record{At: 72 * s, Observer: "d", Type: swim.EventFail, Subject: "b"})
		}, nil},
		{"declarer cut off from the subject missed its refutation", func(h *History) {
			// Seed 188: a starved member starts an accusation, a healthy
			// one confirms it and is then partitioned from the subject, so
			// the subject's refutation never reaches it and its suspicion
			// runs out after the heal. K = 0 keeps a (with c) healthy.
			h.K = 0
			h.Faults = append(h.Faults, Fault{FaultStarve, "d", Interval{40 * s, 60 * s}})
			h.Partitions = append(h.Partitions, Partition{Interval{51 * s, 70 * s}, []string{"a", "c"}, false})
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "d", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 50*s + 100*time.Millisecond, Observer: "a", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 75 * s, Observer: "a", Type: swim.EventFail, Subject: "b"},
				Record{At: 76 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 1})
		}, nil},
		{"declarer cut off only before its suspicion began", func(h *History) {
			h.K = 0
			h.Faults = append(h.Faults, Fault{FaultStarve, "d", Interval{40 * s, 60 * s}})
			h.Partitions = append(h.Partitions, Partition{Interval{30 * s, 45 * s}, []string{"a", "c"}, false})
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "d", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 50*s + 100*time.Millisecond, Observer: "a", Type: swim.EventSuspect, Subject: "b"},
				Record{At: 60 * s, Observer: "a", Type: swim.EventFail, Subject: "b"})
		}, []Checker{CheckNoFalseDeath}},
		{"declaration under 30% loss", func(h *History) {
			h.Loss = []LossPeriod{{Interval{0, 45 * s}, 50_000}, {Interval{45 * s, 60 * s}, 300_000}, {Interval{60 * s, Forever}, 50_000}}
			h.Records = append(h.Records, Record{At: 55 * s, Observer: "a", Type: swim.EventFail, Subject: "b"})
		}, nil},
		{"tag update never reached d", func(h *History) {
			h.Updates = append(h.Updates, Update{Kind: UpdateTags, At: 150 * s, Member: "a", Inc: 1, TagV: 1})
			h.Records = append(h.Records,
				Record{At: 151 * s, Observer: "b", Type: swim.EventUpdate, Subject: "a", Inc: 1, TagV: 1})
			h.Final["b"]["a"] = View{State: swim.StateAlive, Inc: 1, TagV: 1}
		}, []Checker{CheckReach}},
		{"tag update reached everyone", func(h *History) {
			h.Updates = append(h.Updates, Update{Kind: UpdateTags, At: 150 * s, Member: "a", Inc: 1, TagV: 1})
			for _, o := range []string{"b", "d"} {
				h.Records = append(h.Records, Record{At: 151 * s, Observer: o, Type: swim.EventUpdate, Subject: "a", Inc: 1, TagV: 1})
				h.Final[o]["a"] = View{State: swim.StateAlive, Inc: 1, TagV: 1}
			}
		}, nil},
		{"a leaver heard by one ends failed elsewhere", func(h *History) {
			h.Left = []string{"c"}
			h.Records = append(h.Records, Record{At: 99 * s, Observer: "a", Type: swim.EventLeave, Subject: "c"})
			h.Final["a"]["c"] = View{State: swim.StateLeft}
		}, []Checker{CheckLeave}},
		{"a leaver ends left everywhere", func(h *History) {
			h.Left = []string{"c"}
			h.Records = append(h.Records, Record{At: 99 * s, Observer: "a", Type: swim.EventLeave, Subject: "c"})
			for _, o := range []string{"a", "b", "d"} {
				h.Final[o]["c"] = View{State: swim.StateLeft}
			}
		}, nil},
		{"a leave nobody heard ends failed", func(h *History) {
			h.Left = []string{"c"}
		}, nil},
		{"a quiet leave nobody heard", func(h *History) {
			h.Left = []string{"c"}
			h.QuietLeaves = []string{"c"}
		}, []Checker{CheckLeave}},
		{"a refuted member taken back to a stale incarnation", func(h *History) {
			h.Records = append(h.Records,
				Record{At: 50 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 2},
				Record{At: 52 * s, Observer: "a", Type: swim.EventSuspect, Subject: "b", Inc: 1},
				Record{At: 53 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 3})
		}, []Checker{CheckTable}},
		{"a reaped member learned again at a lower incarnation", func(h *History) {
			h.Records = append(h.Records,
				Record{At: 150 * s, Observer: "a", Type: swim.EventReap, Subject: "c", Inc: 0},
				Record{At: 152 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 2},
				Record{At: 153 * s, Observer: "a", Type: swim.EventReap, Subject: "b", Inc: 2},
				Record{At: 154 * s, Observer: "a", Type: swim.EventJoin, Subject: "b", Inc: 1})
		}, nil},
		{"the event log agrees with the final tables", func(h *History) {
			h.EventLog = true
		}, nil},
		{"a failed member marked left without a leave event", func(h *History) {
			h.EventLog = true
			h.Final["a"]["c"] = View{State: swim.StateLeft}
		}, []Checker{CheckTable}},
		{"a refuted suspicion keeps the entry live without an event", func(h *History) {
			h.EventLog = true
			h.Records = append(h.Records, Record{At: 50 * s, Observer: "a", Type: swim.EventSuspect, Subject: "b"})
			h.Final["a"]["b"] = View{State: swim.StateAlive, Inc: 1}
		}, nil},
		{"an entry whose last event was its reap", func(h *History) {
			h.EventLog = true
			h.Records = append(h.Records, Record{At: 150 * s, Observer: "a", Type: swim.EventReap, Subject: "c"})
		}, []Checker{CheckTable}},
		{"views split after the heal", func(h *History) {
			h.Final["b"]["d"] = View{State: swim.StateDead}
		}, []Checker{CheckConverge}},
		{"a member never learned of another", func(h *History) {
			delete(h.Final["a"], "d")
		}, []Checker{CheckConverge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.edit(h)
			got := Check(h)
			require.Equal(t, tc.want, checkers(dedupe(got)), "violations: %v", got)
		})
	}
}

// dedupe keeps the first violation of each checker, in order.
func dedupe(vs []Violation) []Violation {
	seen := map[Checker]bool{}
	var out []Violation
	for _, v := range vs {
		if !seen[v.Checker] {
			seen[v.Checker] = true
			out = append(out, v)
		}
	}
	return out
}

func TestDetectBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     swim.Config
		n       int
		want    time.Duration
		explain string
	}{
		{"lan 5", swim.LANConfig("x", "x", nil), 5, 11*8*s + 24*s, "(9 + 2 verification) periods × 8 s + 6 × 4 s"},
		{"lan 100", swim.LANConfig("x", "x", nil), 100, 201*8*s + 48*s, "(199 + 2) periods × 8 s + 6 × 8 s"},
		{"local 4", swim.LocalConfig("x", "x", nil), 4, 9*8*s + 18*s, "(7 + 2) × 8 s + 6 × 3 s"},
		{"lan 5 without lifeguard", func() swim.Config {
			c := swim.LANConfig("x", "x", nil)
			c.DisableLifeguard = true
			return c
		}(), 5, 9*s + 4*s, "9 × 1 s + 4 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DetectBound(tc.cfg, tc.n), tc.explain)
		})
	}
}

// Checker 5 flags exactly the members up at the end never sampled at 0.
func TestAwarenessWatch(t *testing.T) {
	w := newAwarenessWatch()
	w.recovered["a"] = true
	v := w.check([]string{"a", "b"}, map[string]int{"a": 0, "b": 3}, time.Minute, 5*time.Minute)
	require.Len(t, v, 1)
	require.Equal(t, CheckHealth, v[0].Checker)
	require.Contains(t, v[0].Msg, "b's awareness score")
	require.Contains(t, v[0].Msg, "(3 at the end)")
	require.Empty(t, w.check([]string{"a"}, nil, time.Minute, 5*time.Minute))
}

// An event at the update's incarnation with older tags is not the
// update (a tag update announced without raising the incarnation).
func TestReachedNeedsTheTags(t *testing.T) {
	u := Update{Kind: UpdateTags, At: 10 * s, Member: "a", Inc: 3, TagV: 2}
	stale := Record{At: 5 * s, Observer: "b", Type: swim.EventJoin, Subject: "a", Inc: 3, TagV: 1}
	fresh := Record{At: 40 * s, Observer: "b", Type: swim.EventUpdate, Subject: "a", Inc: 4, TagV: 2}
	require.Equal(t, time.Duration(-1), reached([]Record{stale}, u))
	require.Equal(t, 40*s, reached([]Record{stale, fresh}, u))
}

// Checker 6 flags a second delivery of one event, and an event fired at
// a Lamport time not above every one its origin delivered before.
func TestUserEventChecks(t *testing.T) {
	type delivery struct {
		observer string
		e        *swim.UserEvent
	}
	ev := func(payload string, lt swim.LamportTime) *swim.UserEvent {
		return &swim.UserEvent{LTime: lt, Name: userEventName, Payload: []byte(payload)}
	}
	for _, tc := range []struct {
		name  string
		steps []delivery
		want  int
	}{
		{"ordered", []delivery{{"a", ev("a/1", 0)}, {"b", ev("a/1", 0)}, {"b", ev("b/1", 1)}, {"a", ev("b/1", 1)}, {"a", ev("a/2", 2)}}, 0},
		{"first own event at time 0", []delivery{{"a", ev("a/1", 0)}}, 0},
		{"delivered twice", []delivery{{"a", ev("a/1", 0)}, {"b", ev("a/1", 0)}, {"b", ev("a/1", 0)}}, 1},
		{"fired at a time already delivered", []delivery{{"a", ev("a/1", 3)}, {"b", ev("a/1", 3)}, {"b", ev("b/1", 3)}}, 1},
		{"fired below a time delivered", []delivery{{"b", ev("a/1", 5)}, {"b", ev("b/1", 2)}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(1, swim.LANConfig)
			for _, st := range tc.steps {
				s.events.deliver(st.observer, st.e)
			}
			require.Len(t, s.violations, tc.want, "%v", s.violations)
			for _, v := range s.violations {
				require.Equal(t, CheckEvents, v.Checker)
			}
		})
	}
}
