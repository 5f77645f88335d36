package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/swim"
)

// Restart (checker 3, reach; checker 9, table): a member crashes and
// comes back from its data dir, as the swim driver restarts it: same name
// and address, Config.Incarnation one above the persisted incarnation,
// Config.EventClock the persisted clock. The driver persists after the
// core's state changed, off the core's path, so a crash can lose the last
// writes: here the persisted state lags by 0–3 incarnation changes (tag
// updates made after the last write), and the others may hold the
// member, alive, suspect or dead, at an incarnation above the one it
// restarts with. Its own refutation must still beat every such claim at
// once (swim refutes above the accuser's incarnation), and:
//
//   - once its join's push-pull is answered, its own incarnation is
//     above the one its contacts held it at (it heard their claim about
//     itself, and refutes above a claim, not one above itself);
//   - every live member sees it alive again, with its tags and above the
//     old process's incarnation, within restartBound;
//   - no observer's incarnation for it goes back across the restart
//     unless the entry was reaped meanwhile;
//   - it does not deliver again a user event delivered before the crash
//     (the persisted Lamport clock);
//   - a user event it fires at once after the restart, before its join,
//     at the persisted clock, is delivered by itself (an event at the
//     restored clock is new, not one of the previous life's);
//   - in half the restarts its tags changed while it was down (a config
//     edit and a restart, within 0.3 s if one change was lost): it must
//     still end with the new tags in every
//     table, also when the old process reached the incarnation it
//     restarts with (one lost change), which only a refutation of its
//     own previous life's alive claim at that incarnation can bring.
//
// The scenario runs in a quiet phase of its own after the pair cut, in
// restartShare of the converged seeds, drawing from streamRestart, so the
// other schedules do not move. The records are off (checkers 1–9 judged
// the run at End); the phase's checks are its own.
const (
	restartShare = 0.3
	restartPoll  = 500 * time.Millisecond
	maxStaleIncs = 3
)

// restartBound bounds how long after its restart a member may wait to be
// seen alive by every live member: its join's push-pull brings back its
// own entry (refuted at once), then the refutation spreads; allow one
// push-pull period besides, for a table that learns it only by a
// push-pull, and an accusation window for gossip under loss.
func restartBound(cfg swim.Config, n int) time.Duration {
	return pushPullPeriod(cfg, n) + AccuseWindow(cfg, n)
}

// restartPhase runs the scenario on a converged pool; it reports whether
// stop ended it.
func (nm *nemesis) restartPhase(r *rand.Rand, stop func() bool) (aborted bool) {
	s := nm.s
	if r.Float64() >= restartShare {
		return false
	}
	var c []*member
	for _, m := range s.up() {
		if !m.leaving {
			c = append(c, m)
		}
	}
	if len(c) < 3 {
		return false
	}
	x := c[r.IntN(len(c))]
	stale := r.IntN(maxStaleIncs + 1)
	// Down long enough, at times, for the others to suspect it, declare
	// it dead, and push-pull that around.
	cfg0 := s.config(0, "x", "x")
	down := time.Second + time.Duration(r.Int64N(int64(pushPullPeriod(cfg0, nm.sw.Members)+maxSuspicion(cfg0, nm.sw.Members))))
	retag := r.IntN(2) == 0
	if retag && stale == 1 {
		// A quick restart (a supervisor's): often no one suspected it
		// meanwhile, so only its previous life's alive claim, at the
		// incarnation it restarts with after this one lost change, tells
		// it to refute with its new tags. (Only then: the longer downs
		// are what put accusations above the restarted incarnation.)
		down = 50*time.Millisecond + time.Duration(r.Int64N(int64(250*time.Millisecond)))
	}
	run := func(d time.Duration, poll func()) bool {
		return s.runUntil(s.w.Now()+d, restartPoll, func() bool {
			if poll != nil {
				poll()
			}
			return stop != nil && stop()
		})
	}
	s.record = false

	// The driver's last write, then the changes it lost.
	persistedInc, persistedClock := x.node.LocalMember().Incarnation, x.node.EventClock()
	// Not s.setTags: checker 3 judged the updates at End.
	for range stale {
		x.tagV++
		if err := x.node.SetTags(x.now(), x.tags()); err != nil {
			s.violate(CheckDriver, fmt.Sprintf("%s: set tags: %v", x.name, err))
		}
		x.drain()
	}
	// A user event x delivers before the crash, whose gossip may still
	// be in flight at the restart: checker 6's at-most-once (keyed by
	// member name) covers the restarted process too.
	s.events.fire(x)
	if run(2*time.Second, nil) {
		return true
	}

	// Each observer's last incarnation for x; reaped entries drop out.
	held := map[string]swim.Incarnation{}
	watch := func() {
		for _, o := range s.up() {
			if o == x {
				continue
			}
			inc, st := incOf(o.node, x.name)
			if st == stateAbsent {
				delete(held, o.name)
				continue
			}
			if prev, seen := held[o.name]; seen && inc < prev {
				s.violate(CheckTable, fmt.Sprintf("%s holds restarted %s at inc %d, after inc %d: an incarnation went back across a restart",
					o.name, x.name, inc, prev))
			}
			held[o.name] = inc
		}
	}
	watch()
	// The highest incarnation the old process reached: the restarted one
	// must be seen at or above it, else its tags lose to the old ones.
	oldInc := x.node.LocalMember().Incarnation
	x.crash()
	s.w.Tracef("nemesis restart: %s down for %v, persisted inc %d (%d changes lost)", x.name, down, persistedInc, stale)
	if run(down, watch) {
		return true
	}

	x.host.Restart()
	cfg := s.config(s.index(x), x.name, x.host.Addr())
	cfg.Incarnation = persistedInc + 1
	cfg.EventClock = persistedClock
	x.stuck, x.joining, x.starved = 0, false, false
	if retag {
		x.tagV++ // start takes x.tags()
	}
	if err := x.start(cfg); err != nil {
		panic(fmt.Sprintf("swimsim: restart %s: %v", x.name, err)) // our config is bad
	}
	// The new process's own fires are ordered after what it delivered.
	delete(s.events.last, x.name)
	s.events.fire(x)
	if p := fmt.Sprintf("%s/%d", x.name, s.events.fired[x.name]); !s.events.seen[x.name][p] {
		s.violate(CheckEvents, fmt.Sprintf("%s, restarted with event clock %d, fired user event %s and did not deliver it itself",
			x.name, persistedClock, p))
	}
	var to []string
	// contactInc: the lowest incarnation a contact holds x at, so at
	// least what the first answer brings (the contacts' only grow).
	// A contact holding x suspect or dead at contactInc wants a
	// refutation above it; one holding it alive with its tags, one at it.
	var contactInc swim.Incarnation
	accused := false
	for _, m := range s.up() {
		if m != x && len(to) < 2 {
			inc, st := incOf(m.node, x.name)
			if len(to) == 0 || inc < contactInc {
				contactInc, accused = inc, st != swim.StateAlive
			}
			to = append(to, m.host.Addr())
		}
	}
	if err := x.join(to); err != nil {
		s.violate(CheckDriver, fmt.Sprintf("%s: rejoin after restart: %v", x.name, err))
	}
	nm.counts.Restart++
	restartAt := s.w.Now()
	bound := restartBound(cfg, nm.sw.Members)
	seen := time.Duration(-1)
	refuted := false
	aborted = s.runUntil(restartAt+bound, restartPoll, func() bool {
		watch()
		if !refuted && x.node.Joined() {
			refuted = true
			if own := x.node.LocalMember().Incarnation; own < contactInc || (accused && own == contactInc) {
				s.violate(CheckTable, fmt.Sprintf("%s restarted at inc %d, joined through members holding it at inc %d (accused %v), and is still at inc %d: a claim about ourselves at or above our incarnation is refuted above it at once",
					x.name, cfg.Incarnation, contactInc, accused, own))
			}
		}
		if seen < 0 && rejoined(s, x, oldInc) {
			seen = s.w.Now() - restartAt
		}
		return seen >= 0 || (stop != nil && stop())
	})
	if aborted && seen < 0 {
		return true
	}
	if seen < 0 {
		var not []string
		for _, o := range s.up() {
			if o != x && !rejoinedIn(o.node, x, oldInc) {
				not = append(not, o.name)
			}
		}
		s.violate(CheckReach, fmt.Sprintf("%s restarted at %v (inc %d; %d incarnation changes lost) is not alive at or above its old incarnation %d in %d live members' tables %v later (bound: one push-pull period and an accusation window), e.g. %v",
			x.name, restartAt, cfg.Incarnation, stale, oldInc, len(not), bound, not[:min(len(not), 3)]))
	}
	nm.restartSeen = seen
	return false
}

// index is m's position in start order (its core stream).
func (s *sim) index(m *member) int {
	for i, x := range s.members {
		if x == m {
			return i
		}
	}
	panic(fmt.Sprintf("swimsim: %s is not a member", m.name))
}

// stateAbsent marks an entry not in the table (reaped or never known).
const stateAbsent swim.State = 255

// incOf is n's incarnation and state for name (stateAbsent: not in its
// table).
func incOf(n *swim.Node, name string) (swim.Incarnation, swim.State) {
	for _, x := range n.Members() {
		if x.Name == name {
			return x.Incarnation, x.State
		}
	}
	return 0, stateAbsent
}

// rejoinedIn reports whether n holds the restarted x alive, with its
// tags, at or above the old process's incarnation oldInc (at it only
// with the same tags: no refutation is then needed).
func rejoinedIn(n *swim.Node, x *member, oldInc swim.Incarnation) bool {
	for _, e := range n.Members() {
		if e.Name == x.name {
			return e.State == swim.StateAlive && e.Incarnation >= oldInc && tagVersion(e.Tags) == x.tagV
		}
	}
	return false
}

// rejoined reports whether every live member holds x as rejoinedIn.
func rejoined(s *sim, x *member, oldInc swim.Incarnation) bool {
	for _, o := range s.up() {
		if o != x && !rejoinedIn(o.node, x, oldInc) {
			return false
		}
	}
	return true
}
