package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/swim"
)

// Sub-seed streams: one per subsystem, so that one drawing more numbers
// does not shift another's sequence. Only append.
const (
	streamSwarm uint64 = iota + 1
	streamNet
	streamCore
	streamNemesis
	streamStarve
	streamEvents
	streamLeave
	streamPairCut
	streamRestart
	streamForceLeave
)

// sim is one pool on one world.
type sim struct {
	w      *world.World
	seed   uint64
	preset func(name, addr string, r *rand.Rand) swim.Config
	tweak  func(*swim.Config) // optional, after the preset

	members []*member // in start order
	byName  map[string]*member

	h History
	// record: keep every event in h.Records (off in large measurements,
	// which watch events through onEvent instead).
	record  bool
	onEvent func(m *member, e swim.Event)

	rNem, rStarve *rand.Rand
	rEvents       *rand.Rand // the user-event workload's choices
	rLeave        *rand.Rand // the leave workload's choices
	events        *userEvents
	dialFailures  uint64
	traffic       Traffic // what every member sent
	violations    []Violation
	// probeWatch: a probe window is open; probes go to h.Probes.
	probeWatch bool
	// tableViolations counts checker 9's live violations (table.go).
	tableViolations int
}

func newSim(seed uint64, preset func(string, string, *rand.Rand) swim.Config) *sim {
	s := &sim{
		w:       world.New(rand.New(rand.NewPCG(seed, streamNet))),
		seed:    seed,
		preset:  preset,
		byName:  map[string]*member{},
		record:  true,
		rNem:    rand.New(rand.NewPCG(seed, streamNemesis)),
		rStarve: rand.New(rand.NewPCG(seed, streamStarve)),
		rEvents: rand.New(rand.NewPCG(seed, streamEvents)),
		rLeave:  rand.New(rand.NewPCG(seed, streamLeave)),
	}
	s.events = newUserEvents(s)
	s.h.Final = map[string]map[string]View{}
	s.h.Self = map[string]View{}
	s.h.EventLog = true
	return s
}

// config is the core configuration of member i.
func (s *sim) config(i int, name, addr string) swim.Config {
	c := s.preset(name, addr, rand.New(rand.NewPCG(s.seed, streamCore<<32|uint64(i))))
	c.EmitSuspectEvents = true
	if s.tweak != nil {
		s.tweak(&c)
	}
	return c
}

// add creates member i's host (not yet started).
func (s *sim) add() *member {
	i := len(s.members)
	name := fmt.Sprintf("m%03d", i)
	m := &member{s: s, name: name, host: s.w.AddHost(name + ":7946")}
	s.members = append(s.members, m)
	s.byName[name] = m
	s.h.Members = append(s.h.Members, name)
	return m
}

// start runs member m's core and joins it to the given members.
func (s *sim) start(m *member, join []*member) {
	i := len(s.h.Members) - 1
	for j, x := range s.members {
		if x == m {
			i = j
		}
	}
	if err := m.start(s.config(i, m.name, m.host.Addr())); err != nil {
		panic(fmt.Sprintf("swimsim: start %s: %v", m.name, err)) // our config is bad
	}
	s.logUpdate(m, UpdateJoin)
	if len(join) == 0 {
		return
	}
	var addrs []string
	for _, j := range join {
		addrs = append(addrs, j.host.Addr())
	}
	if err := m.join(addrs); err != nil {
		s.violate(CheckDriver, fmt.Sprintf("%s: join: %v", m.name, err))
	}
}

func (s *sim) logUpdate(m *member, k UpdateKind) {
	s.h.Updates = append(s.h.Updates, Update{Kind: k, At: s.w.Now(), Member: m.name, Inc: m.node.LocalMember().Incarnation, TagV: m.tagV})
	s.w.Tracef("%s %s inc=%d v=%d", m.name, k, m.node.LocalMember().Incarnation, m.tagV)
}

// setTags bumps m's tag version. SetTags must raise the incarnation:
// peers take a member's tags only from an alive message above the
// incarnation they hold, so new tags at the old one would spread only
// when a push-pull brought the old ones back to m (which then refutes),
// within every checker's bounds.
func (s *sim) setTags(m *member) {
	m.tagV++
	before := m.node.LocalMember().Incarnation
	if err := m.node.SetTags(m.now(), m.tags()); err != nil {
		s.violate(CheckDriver, fmt.Sprintf("%s: set tags: %v", m.name, err))
		return
	}
	if after := m.node.LocalMember().Incarnation; after <= before {
		s.violate(CheckDriver, fmt.Sprintf("%s: set tags: incarnation %d, was %d: new tags need a higher one", m.name, after, before))
	}
	m.drain()
	s.logUpdate(m, UpdateTags)
}

// event takes one event from m's Ready.
func (s *sim) event(m *member, e swim.Event) {
	if e.Type == swim.EventUser {
		s.events.deliver(m.name, e.User)
		return
	}
	if s.w.Tracing() {
		s.w.Tracef("%s %s %s inc=%d", m.name, e.Type, e.Member.Name, e.Member.Incarnation)
	}
	if s.record && e.Member.Name != m.name {
		s.checkEventMember(m.name, m.now(), e)
		s.h.Records = append(s.h.Records, Record{At: s.w.Now(), Observer: m.name, Type: e.Type,
			Subject: e.Member.Name, Inc: e.Member.Incarnation, TagV: tagVersion(e.Member.Tags)})
	}
	if s.onEvent != nil {
		s.onEvent(m, e)
	}
}

func (s *sim) violate(c Checker, msg string) {
	s.violations = append(s.violations, Violation{Checker: c, At: s.w.Now(), Msg: msg})
}

// starveDelay is how late a starved member handles one input.
func (s *sim) starveDelay() time.Duration {
	return 500*time.Millisecond + time.Duration(s.rStarve.Int64N(int64(2500*time.Millisecond)))
}

// up lists the started, not crashed members.
func (s *sim) up() []*member {
	var out []*member
	for _, m := range s.members {
		if m.node != nil {
			out = append(out, m)
		}
	}
	return out
}

// bootstrap starts members [0, n): the first alone, each next one
// joining the first and one random earlier member, 20 ms apart. It runs
// until every one counts all n live, or gives up after limit.
func (s *sim) bootstrap(n int, limit time.Duration) bool {
	for i := range n {
		m := s.members[i]
		s.w.At(s.w.Now()+time.Duration(i)*20*time.Millisecond, func() {
			var join []*member
			if i > 0 {
				join = append(join, s.members[0])
				if j := s.rNem.IntN(i); j != 0 {
					join = append(join, s.members[j])
				}
			}
			s.start(m, join)
		})
	}
	return s.runUntil(s.w.Now()+limit, time.Second, func() bool {
		for _, m := range s.members[:n] {
			if m.node == nil || m.node.NumAlive() != n {
				return false
			}
		}
		return true
	})
}

// runUntil runs the world until t, checking cond every poll of virtual
// time; it stops early (true) once cond holds.
func (s *sim) runUntil(t, poll time.Duration, cond func() bool) bool {
	for s.w.Now() < t {
		next := min(s.w.Now()+poll, t)
		s.w.RunUntil(next, nil)
		if cond != nil && cond() {
			return true
		}
	}
	return cond != nil && cond()
}

// finish snapshots every up member's table into the history.
func (s *sim) finish() {
	s.snapshot(&s.h)
	s.checkFinalStatus()
}

// snapshot fills h.End, h.Final and h.Self from the running members.
func (s *sim) snapshot(h *History) {
	h.End = s.w.Now()
	h.Final = map[string]map[string]View{}
	h.Self = map[string]View{}
	for _, m := range s.up() {
		views := map[string]View{}
		for _, x := range m.node.Members() {
			views[x.Name] = View{State: x.State, Inc: x.Incarnation, TagV: tagVersion(x.Tags)}
		}
		h.Final[m.name] = views
		self := m.node.LocalMember()
		h.Self[m.name] = View{State: self.State, Inc: self.Incarnation, TagV: tagVersion(self.Tags)}
	}
}
