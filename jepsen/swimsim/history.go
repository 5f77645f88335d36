package swimsim

import (
	"math"
	"time"

	"github.com/agentd/agentd/swim"
)

// Forever ends an interval that never closed (a crash).
const Forever = time.Duration(math.MaxInt64)

// Interval is a span of global virtual time, [Start, End).
type Interval struct{ Start, End time.Duration }

// overlaps reports whether i meets [from, to].
func (i Interval) overlaps(from, to time.Duration) bool { return i.Start <= to && i.End > from }

// FaultKind is the kind of a fault on one member.
type FaultKind uint8

const (
	FaultCrash  FaultKind = iota + 1 // the process is gone for good
	FaultPause                       // the process is stopped (SIGSTOP)
	FaultStarve                      // every packet is handled 0.5–3 s late
)

func (k FaultKind) String() string {
	switch k {
	case FaultCrash:
		return "crash"
	case FaultPause:
		return "pause"
	case FaultStarve:
		return "starve"
	}
	return "fault?"
}

// Fault is one fault on one member.
type Fault struct {
	Kind   FaultKind
	Member string
	Interval
}

// Partition cuts Group from every other member for its interval: both
// directions, or with OneWay only Group → rest.
type Partition struct {
	Interval
	Group  []string
	OneWay bool
}

func (p Partition) in(name string) bool {
	for _, g := range p.Group {
		if g == name {
			return true
		}
	}
	return false
}

// LossPeriod is the network's datagram loss over an interval.
type LossPeriod struct {
	Interval
	LossPPM int
}

// Record is one event a member's core emitted, as the simulator saw it.
type Record struct {
	At       time.Duration
	Observer string
	Type     swim.EventType
	Subject  string
	Inc      swim.Incarnation
	TagV     int // the subject's tag version ("v" tag) in the event
}

// UpdateKind says what an Update announced.
type UpdateKind uint8

const (
	UpdateJoin UpdateKind = iota + 1
	UpdateTags
)

func (k UpdateKind) String() string {
	if k == UpdateJoin {
		return "join"
	}
	return "tags"
}

// Update is a join or tag change a member announced: every live member
// must come to know the member at Inc or later (checker 3).
type Update struct {
	Kind   UpdateKind
	At     time.Duration
	Member string
	Inc    swim.Incarnation
	TagV   int
}

// View is one member's final opinion of another.
type View struct {
	State swim.State
	Inc   swim.Incarnation
	TagV  int
}

// History is everything the checkers look at: what was done to the pool
// and what each member said. Checkers are pure functions of it, so tests
// can hand-craft violations.
type History struct {
	Members []string // every member ever started, in start order
	// K is the indirect-probe fan-out (Config.IndirectChecks): a healthy
	// member reaches at least K+1 others (or all of them, in a smaller
	// pool).
	K int
	// DetectBound and AccuseWindow are the bounds of bounds.go for this
	// pool's configuration and size.
	DetectBound, AccuseWindow time.Duration
	// HealAt is when the last fault was healed; End is the end of the
	// run. The checkers judge liveness on [HealAt, End].
	HealAt, End time.Duration

	Records []Record
	Updates []Update
	Faults  []Fault
	// Left lists the members that left gracefully (Leave); each was then
	// shut down, which Faults logs as a crash.
	Left []string
	// QuietLeaves are the leavers whose leave ran, until they shut down,
	// at zero loss with no other fault injected (nemesis quietLeave):
	// some member must record the leave (checker 7).
	QuietLeaves []string
	// EventLog: Records hold every event each member up at End emitted
	// about others until End, suspect events included (the simulator's
	// runs), so checker 9 may replay them against Final. Crafted
	// histories leave it off.
	EventLog bool
	// ForceLeft lists the crashed members some member force-left
	// (ForceLeave, forceleave.go): checker 7 judges them as Left.
	ForceLeft  []string
	Partitions []Partition
	Loss       []LossPeriod
	// PairCuts are the cut links of the quiet phase after End
	// (paircut.go; checker 8).
	PairCuts []PairCut
	// Probes are the probes members started while a probe window was
	// open, and ProbeWindows those windows (probeorder.go; checker 10).
	Probes       []Probe
	ProbeWindows []ProbeWindow
	// Final is each member's table at End, for members up at End.
	Final map[string]map[string]View
	// Self is each up member's own incarnation and tag version at End.
	Self map[string]View

	ix *index // lookups over the lists above; see lookup
}

// index caches per-member lookups, so that the checkers stay near linear
// in pools of hundreds of members with tens of thousands of records.
type index struct {
	// Lengths of the lists it was built from: the lists only grow, so a
	// length change means the index is stale.
	members, updates, faults, partitions int
	crashed, started                     map[string]time.Duration
	groups                               []map[string]bool // per partition
}

// lookup returns the index, rebuilding it if the history grew since.
func (h *History) lookup() *index {
	if x := h.ix; x != nil && x.members == len(h.Members) && x.updates == len(h.Updates) &&
		x.faults == len(h.Faults) && x.partitions == len(h.Partitions) {
		return x
	}
	x := &index{members: len(h.Members), updates: len(h.Updates), faults: len(h.Faults), partitions: len(h.Partitions),
		crashed: map[string]time.Duration{}, started: map[string]time.Duration{}}
	for _, f := range h.Faults {
		if _, seen := x.crashed[f.Member]; f.Kind == FaultCrash && !seen {
			x.crashed[f.Member] = f.Start
		}
	}
	for _, u := range h.Updates {
		if _, seen := x.started[u.Member]; u.Kind == UpdateJoin && !seen {
			x.started[u.Member] = u.At
		}
	}
	for _, p := range h.Partitions {
		g := make(map[string]bool, len(p.Group))
		for _, m := range p.Group {
			g[m] = true
		}
		x.groups = append(x.groups, g)
	}
	h.ix = x
	return x
}

// crashedAt returns when name crashed, or Forever.
func (h *History) crashedAt(name string) time.Duration {
	if t, ok := h.lookup().crashed[name]; ok {
		return t
	}
	return Forever
}

// separates reports whether partition i cuts a link between a and b.
func (h *History) separates(i int, a, b string) bool {
	g := h.lookup().groups[i]
	return g[a] != g[b]
}

// upAtEnd lists the members running at End, in start order.
func (h *History) upAtEnd() []string {
	var out []string
	for _, m := range h.Members {
		if h.crashedAt(m) == Forever {
			out = append(out, m)
		}
	}
	return out
}

type pair struct{ observer, subject string }

// timelines splits the records by (observer, subject), each in time order.
func (h *History) timelines() map[pair][]Record {
	out := map[pair][]Record{}
	for _, r := range h.Records {
		k := pair{r.Observer, r.Subject}
		out[k] = append(out[k], r)
	}
	return out
}

// liveAt reports whether the record stream rs says the subject is in the
// live set (alive or suspect) just after time t.
func liveAt(rs []Record, t time.Duration) bool {
	live := false
	for _, r := range rs {
		if r.At > t {
			break
		}
		live = recordLive(r.Type, live)
	}
	return live
}

// recordLive is the live-set membership after an event of type t.
func recordLive(t swim.EventType, before bool) bool {
	switch t {
	case swim.EventJoin, swim.EventUpdate, swim.EventSuspect:
		return true
	case swim.EventFail, swim.EventLeave, swim.EventReap:
		return false
	}
	return before
}
