package swimsim

import (
	"fmt"
	"slices"
	"time"

	"github.com/agentd/agentd/swim"
)

// Checker names one of the run's checks.
type Checker uint8

const (
	// CheckDetect (1): every crashed member is declared dead by every
	// live member by its detectDeadline, and never seen live again.
	CheckDetect Checker = iota + 1
	// CheckNoFalseDeath (2): no healthy member is declared dead on an
	// accusation that started at a healthy member connected to it.
	CheckNoFalseDeath
	// CheckReach (3): every join and tag update reaches every live member.
	CheckReach
	// CheckConverge (4): after the last heal every live member holds one
	// view: all live members live, all crashed ones not.
	CheckConverge
	// CheckDriver: the core broke its calling contract (a Tick that
	// leaves NextDeadline in the past, an error from an API call).
	CheckDriver
	// CheckHealth (5): every member up at the end has its Lifeguard
	// awareness score (Node.Health) back at 0 at some point of the
	// liveness phase (health.go recovered).
	CheckHealth
	// CheckEvents (6): user events are delivered at most once per member,
	// and a member fires an event at a Lamport time above every one it
	// delivered before (userevents.go).
	CheckEvents
	// CheckLeave (7): a member that left, and whose leave any member
	// recorded, ends as left (not failed) in every table that holds it.
	CheckLeave
	// CheckIndirect (8): during a quiet pair cut, neither member of the
	// pair suspects the other: ping-req relays bridge the cut link
	// (paircut.go).
	CheckIndirect
	// CheckTable (9): incarnations never go back in a member's records of
	// another, and each event and final entry reports Consul's status
	// for its state (table.go).
	CheckTable
	// CheckProbeOrder (10): over a quiet window, no member starts more
	// than 2N+2 probes in a row without probing a member it held live
	// throughout (probeorder.go).
	CheckProbeOrder
	// CheckJoin (11): a member whose Join got its push-pull answer
	// reports Joined at once and sends no join after it; before it, the
	// retries keep the backoff (join.go).
	CheckJoin
)

func (c Checker) String() string {
	switch c {
	case CheckDetect:
		return "detect"
	case CheckNoFalseDeath:
		return "no-false-death"
	case CheckReach:
		return "reach"
	case CheckConverge:
		return "converge"
	case CheckDriver:
		return "driver"
	case CheckHealth:
		return "health"
	case CheckEvents:
		return "events"
	case CheckLeave:
		return "leave"
	case CheckIndirect:
		return "indirect"
	case CheckTable:
		return "table"
	case CheckProbeOrder:
		return "probe-order"
	case CheckJoin:
		return "join"
	}
	return fmt.Sprintf("Checker(%d)", uint8(c))
}

// Violation is one failed check.
type Violation struct {
	Checker Checker
	At      time.Duration // virtual time the violation is about
	Msg     string
}

func (v Violation) String() string { return fmt.Sprintf("[%s] t=%v: %s", v.Checker, v.At, v.Msg) }

// Check runs the checkers of the history alone over h (5 and 6 watch the
// live run).
func Check(h *History) []Violation {
	tl := h.timelines()
	var out []Violation
	out = append(out, checkDetect(h, tl)...)
	fd, _ := checkNoFalseDeath(h)
	out = append(out, fd...)
	out = append(out, checkReach(h, tl)...)
	out = append(out, checkConverge(h)...)
	out = append(out, checkLeave(h)...)
	out = append(out, checkIndirect(h, tl)...)
	out = append(out, checkTable(h, tl)...)
	out = append(out, checkProbeOrder(h, tl)...)
	return out
}

func crashes(h *History) []Fault {
	var out []Fault
	for _, f := range h.Faults {
		if f.Kind == FaultCrash {
			out = append(out, f)
		}
	}
	return out
}

// firstDownAfter is the first record at or after t that takes the
// subject out of the live set, or -1. A subject already out at t counts
// as down at t.
func firstDownAfter(rs []Record, t time.Duration) time.Duration {
	if len(rs) > 0 && !liveAt(rs, t) && rs[0].At <= t {
		return t
	}
	for _, r := range rs {
		if r.At >= t && !recordLive(r.Type, true) {
			return r.At
		}
	}
	return -1
}

func checkDetect(h *History, tl map[pair][]Record) []Violation {
	var out []Violation
	for _, c := range crashes(h) {
		for _, o := range h.upAtEnd() {
			rs := tl[pair{o, c.Member}]
			d := h.detectDeadline(o, c.Start)
			if d <= h.End && liveAt(rs, d) {
				out = append(out, Violation{CheckDetect, d, fmt.Sprintf(
					"%s still sees %s (crashed at %v) live at %v, past the bound %v", o, c.Member, c.Start, d, h.DetectBound)})
				continue
			}
			// A crashed member cannot refute: once it is declared dead at
			// incarnation i, only an alive claim above i that it sent
			// before it crashed may revive it; one at or below i is stale.
			var deadInc swim.Incarnation
			down := false
			for _, r := range rs {
				if r.At < c.Start {
					continue
				}
				live := recordLive(r.Type, !down)
				if down && live && r.Inc <= deadInc {
					out = append(out, Violation{CheckDetect, r.At, fmt.Sprintf(
						"%s sees %s (crashed at %v, declared dead at inc %d) live again: %s inc %d", o, c.Member, c.Start, deadInc, r.Type, r.Inc)})
					break
				}
				if !live && !down {
					deadInc = r.Inc
				}
				down = !live
			}
		}
	}
	return out
}

// DetectionLatencies returns, per crash, the time until every live member
// that was healthy at the crash had declared the member dead (crashes not
// yet detected by all of them are left out).
func DetectionLatencies(h *History) []time.Duration {
	tl := h.timelines()
	var out []time.Duration
	for _, c := range crashes(h) {
		worst, ok, judged := time.Duration(0), true, false
		for _, o := range h.upAtEnd() {
			if h.detectDeadline(o, c.Start) != c.Start+h.DetectBound || h.startedAt(o) > c.Start {
				continue // unhealthy around the crash: its bound is later
			}
			t := firstDownAfter(tl[pair{o, c.Member}], c.Start)
			if t < 0 {
				ok = false
				break
			}
			worst = max(worst, t-c.Start)
			judged = true
		}
		if ok && judged {
			out = append(out, worst)
		}
	}
	return out
}

// accusation is every suspicion and death declaration of one subject at
// one incarnation: one accusation spreading. Its first record is taken as
// its origin (a limitation: two independent accusations at the same
// incarnation are judged as one).
type accusation struct {
	subject string
	inc     swim.Incarnation
	recs    []Record
}

func accusations(h *History) []*accusation {
	type key struct {
		s string
		i swim.Incarnation
	}
	idx := map[key]*accusation{}
	var out []*accusation
	for _, r := range h.Records {
		if r.Type != swim.EventFail && r.Type != swim.EventSuspect {
			continue
		}
		k := key{r.Subject, r.Inc}
		a := idx[k]
		if a == nil {
			a = &accusation{subject: r.Subject, inc: r.Inc}
			idx[k] = a
			out = append(out, a)
		}
		a.recs = append(a.recs, r)
	}
	return out
}

// DeathCounts splits the death declarations of members that had not
// crashed: False ones violate checker 2; Excused ones concern an
// unhealthy member, were made by an unhealthy member, or stem from an
// accuser cut off from the subject.
type DeathCounts struct{ False, Excused int }

// checkNoFalseDeath judges each death declaration of a live subject. It
// is excused when, over the AccuseWindow before it, the subject was
// unhealthy, the declaring member was unhealthy (its view is its own
// problem), or the accusation's origin was cut off from the subject:
// paused, partitioned from it, or under more than 10% loss (a partition
// makes both sides accuse each other, and those accusations spread after
// the heal; a resumed member's stale timers fire at once), or the
// declaring member itself was cut off from the subject between its first
// record of the accusation and the declaration (the subject's refutation
// could not reach it). A starved origin excuses nothing: tolerating slow
// members is Lifeguard's job.
func checkNoFalseDeath(h *History) ([]Violation, DeathCounts) {
	var out []Violation
	var n DeathCounts
	for _, a := range accusations(h) {
		origin := a.recs[0]
		cutOff := h.cutOff(origin.Observer, a.subject, origin.At-h.AccuseWindow, origin.At)
		since := map[string]time.Duration{} // each observer's first record
		var bad []Record
		for _, r := range a.recs {
			if _, ok := since[r.Observer]; !ok {
				since[r.Observer] = r.At
			}
			if r.Type != swim.EventFail || h.crashedAt(a.subject) <= r.At {
				continue
			}
			from := r.At - h.AccuseWindow
			// A declarer cut off from the subject while it suspected it
			// missed the subject's refutation, which is not resent once
			// its retransmits are spent (seed 188).
			declarerCut := h.cutOff(r.Observer, a.subject, since[r.Observer], r.At)
			if cutOff || declarerCut || !h.healthy(a.subject, from, r.At) || !h.healthy(r.Observer, from, r.At) {
				n.Excused++
				continue
			}
			bad = append(bad, r)
		}
		n.False += len(bad)
		if len(bad) > 0 {
			out = append(out, Violation{CheckNoFalseDeath, bad[0].At, fmt.Sprintf(
				"healthy %s declared dead at inc %d by healthy %s (and %d more); accusation began at %s at %v",
				a.subject, a.inc, bad[0].Observer, len(bad)-1, origin.Observer, origin.At)})
		}
	}
	return out, n
}

// FalseDeaths counts death declarations of members that had not crashed.
func FalseDeaths(h *History) DeathCounts {
	_, n := checkNoFalseDeath(h)
	return n
}

func isLive(s swim.State) bool { return s == swim.StateAlive || s == swim.StateSuspect }

// reached returns when observer first knew u's member at u.Inc or later
// with u's tags or newer ones (a join or update event), or -1. The tag
// version matters: an event at u's incarnation with older tags (a tag
// update announced without raising the incarnation) is not u.
func reached(rs []Record, u Update) time.Duration {
	for _, r := range rs {
		if (r.Type == swim.EventJoin || r.Type == swim.EventUpdate) && r.Inc >= u.Inc && r.TagV >= u.TagV {
			return r.At
		}
	}
	return -1
}

func checkReach(h *History, tl map[pair][]Record) []Violation {
	var out []Violation
	up := h.upAtEnd()
	latest := map[string]Update{}
	for _, u := range h.Updates {
		latest[u.Member] = u
	}
	for _, u := range h.Updates {
		if h.crashedAt(u.Member) != Forever {
			continue
		}
		for _, o := range up {
			if o == u.Member {
				continue
			}
			v, known := h.Final[o][u.Member]
			if reached(tl[pair{o, u.Member}], u) < 0 && !(known && v.Inc >= u.Inc && v.TagV >= u.TagV && isLive(v.State)) {
				out = append(out, Violation{CheckReach, h.End, fmt.Sprintf(
					"%s of %s (inc %d at %v) never reached %s (its view: %+v, known %v)", u.Kind, u.Member, u.Inc, u.At, o, v, known)})
				continue
			}
			if latest[u.Member] == u && known && v.TagV != u.TagV {
				out = append(out, Violation{CheckReach, h.End, fmt.Sprintf(
					"%s ends with tag version %d of %s, want %d", o, v.TagV, u.Member, u.TagV)})
			}
		}
	}
	return out
}

// Dissemination returns, per update of a member still up at the end, the
// time until 99.9% of the other live members knew it (updates some never
// learned are left out).
func Dissemination(h *History) []time.Duration {
	tl := h.timelines()
	up := h.upAtEnd()
	var out []time.Duration
	for _, u := range h.Updates {
		if h.crashedAt(u.Member) != Forever {
			continue
		}
		var ts []time.Duration
		for _, o := range up {
			if o == u.Member || h.startedAt(o) > u.At {
				continue
			}
			t := reached(tl[pair{o, u.Member}], u)
			if t < 0 {
				ts = nil
				break
			}
			ts = append(ts, t-u.At)
		}
		if len(ts) > 0 {
			out = append(out, quantileOf(ts, 0.999))
		}
	}
	return out
}

// quantileOf is the smallest value covering fraction q of xs (xs is
// sorted in place).
func quantileOf(xs []time.Duration, q float64) time.Duration {
	slices.Sort(xs)
	i := int(float64(len(xs))*q+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

func checkConverge(h *History) []Violation {
	var out []Violation
	up := h.upAtEnd()
	for _, o := range up {
		for _, m := range h.Members {
			if m == o {
				continue
			}
			v, known := h.Final[o][m]
			live := known && isLive(v.State)
			alive := h.crashedAt(m) == Forever
			if alive != live {
				out = append(out, Violation{CheckConverge, h.End, fmt.Sprintf(
					"%v after the heal at %v, %s sees %s as %s (known %v), but it is %s",
					h.End-h.HealAt, h.HealAt, o, m, v.State, known, map[bool]string{true: "up", false: "crashed"}[alive])})
			}
		}
	}
	return out
}

// checkLeave judges the members that left gracefully. One whose leave
// no member recorded (the leaver was cut off while it left) may rightly
// end as failed everywhere; once any member recorded it, the left entry
// spreads by push-pull and turns a failed entry into a left one (swim
// handleDead), so every table up at the end that still holds the member
// must hold it as left. The liveness phase waits for that as for
// checker 4 (checkConvergeNow).
func checkLeave(h *History) []Violation {
	heard := map[string]bool{}
	for _, r := range h.Records {
		if r.Type == swim.EventLeave {
			heard[r.Subject] = true
		}
	}
	var out []Violation
	for _, x := range h.QuietLeaves {
		if !heard[x] {
			out = append(out, Violation{CheckLeave, h.crashedAt(x), fmt.Sprintf(
				"%s left at zero loss with nothing else wrong, yet no member recorded its leave", x)})
		}
	}
	for _, x := range append(slices.Clone(h.Left), h.ForceLeft...) {
		if !heard[x] {
			continue
		}
		for _, o := range h.upAtEnd() {
			if v, known := h.Final[o][x]; known && v.State != swim.StateLeft {
				out = append(out, Violation{CheckLeave, h.End, fmt.Sprintf(
					"%s, which left, ends as %s (inc %d) at %s, though its leave was heard", x, v.State, v.Inc, o)})
			}
		}
	}
	return out
}
