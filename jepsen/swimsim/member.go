package swimsim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/swim"
)

// member binds one swim.Node to one world.Host, as a driver binds it to
// sockets and a clock: datagrams go to HandlePacket, a stream's bytes (one
// message per stream) to HandleStream, whose reply goes back on a stream
// of its own; one wakeup event sits at NextDeadline, so the simulation
// jumps from deadline to deadline. Every Ready is drained after each call.
type member struct {
	s    *sim
	name string
	host *world.Host
	node *swim.Node // nil before start and after a crash

	wake   *world.Event  // the pending wakeup, if any
	wakeAt time.Duration // its global time

	// starved: every input is handled 0.5–3 s late (the process gets
	// too little CPU to keep up).
	starved bool
	tagV    int // our tag version, the "v" tag
	// joining: started with a Join (every member but the first).
	joining bool
	// leaving: Leave was called; the member shuts down once its leave
	// message is out (nemesis.leave).
	leaving bool
	// cfg is the core's configuration (join.go reads its join timing).
	cfg swim.Config
	// joinW watches the last Join (join.go); ticking: the Ready being
	// flushed came from Tick (a ping in it is a probe, probeorder.go).
	joinW   joinWatch
	ticking bool
	// stuck counts consecutive Ticks after which NextDeadline was still
	// not in the future (a core bug: the simulation would spin).
	stuck int
}

// maxStuckTicks is how many no-progress Ticks in a row are reported.
const maxStuckTicks = 100

func (m *member) now() time.Time { return m.host.Clock().Now() }

func (m *member) tags() map[string]string { return map[string]string{"v": strconv.Itoa(m.tagV)} }

// start creates the core and registers the host's handlers.
func (m *member) start(cfg swim.Config) error {
	cfg.Tags = m.tags()
	n, err := swim.New(cfg, m.now())
	if err != nil {
		return err
	}
	m.node = n
	m.cfg = cfg
	m.joinW = joinWatch{}
	m.host.OnDatagram(func(from string, b []byte) {
		m.input(func() { m.node.HandlePacket(m.now(), from, b) })
	})
	m.host.OnStream(func(st *world.Stream) {
		var buf []byte
		st.Receive(func(b []byte) { buf = append(buf, b...) }, func(err error) {
			if err != nil {
				return // broken: a real driver would see a read error
			}
			from := st.From()
			m.input(func() {
				if reply := m.node.HandleStream(m.now(), from, buf); reply != nil {
					m.dial(from, reply)
				}
				if _, answer, ok := pushPullFlags(buf); ok && answer {
					m.handledAnswer(from)
				}
			})
		})
	})
	m.drain()
	return nil
}

// input runs fn on the core now, or late if the member is starved, then
// drains.
func (m *member) input(fn func()) {
	run := func() {
		if m.node == nil {
			return
		}
		fn()
		m.drain()
	}
	if m.starved {
		m.host.Go(m.s.starveDelay(), run)
		return
	}
	run()
}

// drain sends the Ready packets, records the events and re-arms the
// wakeup.
func (m *member) drain() {
	m.flush()
	m.arm()
}

// flush records the Ready events and sends its packets, in order.
func (m *member) flush() {
	rd := m.node.Ready()
	for _, e := range rd.Events {
		m.s.event(m, e)
	}
	joinSent := false
	for _, p := range rd.Packets {
		if p.Stream {
			if join, _, ok := pushPullFlags(p.Payload); ok && join {
				joinSent = true
			}
			m.dial(p.To, p.Payload)
		} else {
			if m.ticking && m.s.probeWatch {
				if t, ok := pingTarget(p.Payload); ok {
					m.s.h.Probes = append(m.s.h.Probes, Probe{At: m.s.w.Now(), Prober: m.name, Target: t})
				}
			}
			m.s.traffic.Datagrams++
			m.s.traffic.DatagramBytes += uint64(len(p.Payload))
			m.host.Send(p.To, p.Payload)
		}
	}
	if joinSent {
		m.sentJoin()
	}
}

// dial sends one message over a fresh stream. A failed dial drops it,
// as a real driver's dial error would.
func (m *member) dial(to string, b []byte) {
	st, err := m.host.Dial(to)
	if err != nil {
		m.s.dialFailures++
		return
	}
	m.s.traffic.Streams++
	m.s.traffic.StreamBytes += uint64(len(b))
	st.Write(b)
	st.Close(nil)
}

// arm keeps exactly one wakeup, at NextDeadline.
func (m *member) arm() {
	d := m.node.NextDeadline().Sub(m.now())
	at := m.s.w.Now() + m.host.Clock().Global(max(d, 0))
	if m.wake.Pending() {
		if m.wakeAt == at {
			return
		}
		m.wake.Cancel(m.s.w)
	}
	m.wakeAt = at
	m.wake = m.host.Go(at-m.s.w.Now(), m.tick)
}

func (m *member) tick() {
	m.wake = nil
	if m.node == nil {
		return
	}
	now := m.now()
	m.node.Tick(now)
	if m.node.NextDeadline().After(now) {
		m.stuck = 0
	} else if m.stuck++; m.stuck == maxStuckTicks {
		m.s.violate(CheckDriver, fmt.Sprintf("%s: %d Ticks in a row left NextDeadline (%v) not after now (%v)",
			m.name, m.stuck, m.node.NextDeadline().Sub(world.Epoch), now.Sub(world.Epoch)))
	}
	m.ticking = true
	m.flush()
	m.ticking = false
	if m.stuck > 0 {
		// Step past the stuck deadline so the run can finish and report.
		m.wakeAt = m.s.w.Now() + time.Millisecond
		m.wake = m.host.Go(time.Millisecond, m.tick)
		return
	}
	m.arm()
}

// crash kills the process: the host drops its events and handlers.
func (m *member) crash() {
	m.host.Crash(nil)
	m.node = nil
	m.wake = nil
}

// tagVersion reads the "v" tag of a member snapshot (-1 if missing).
func tagVersion(t map[string]string) int {
	v, err := strconv.Atoi(t["v"])
	if err != nil {
		return -1
	}
	return v
}
