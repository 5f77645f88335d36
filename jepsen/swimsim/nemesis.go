package swimsim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// FaultCounts counts injected faults by type.
type FaultCounts struct {
	Crash, Pause, Starve, Partition, LongPartition, LossBurst, Tags, Join int
	UserEvents, Leave                                                     int
	PairCut                                                               int // pair-cut windows run (checker 8)
	Restart                                                               int // members restarted from persisted state (restart.go)
	Isolate                                                               int // quiet isolations run (isolate.go)
	ForceLeave                                                            int // crashed members force-left (forceleave.go)
	Volley                                                                int // user-event volleys fired (volley.go)
}

// Add sums counts.
func (c *FaultCounts) Add(o FaultCounts) {
	c.Crash += o.Crash
	c.Pause += o.Pause
	c.Starve += o.Starve
	c.Partition += o.Partition
	c.LongPartition += o.LongPartition
	c.LossBurst += o.LossBurst
	c.Tags += o.Tags
	c.Join += o.Join
	c.UserEvents += o.UserEvents
	c.Leave += o.Leave
	c.PairCut += o.PairCut
	c.Restart += o.Restart
	c.Isolate += o.Isolate
	c.ForceLeave += o.ForceLeave
	c.Volley += o.Volley
}

// nemesis injects the swarm's faults during the fault phase and heals
// them all at its end. It keeps at most one partition and one loss burst
// at a time, and never crashes below two running members.
type nemesis struct {
	s      *sim
	sw     Swarm
	end    time.Duration // end of the fault phase
	healed bool
	counts FaultCounts

	pauses, starves map[*member]int // member → index of its open Fault
	partition       int             // index of the open Partition, -1
	lossIdx         int             // index of the open LossPeriod
	burst           bool
	crashed         int
	nextLate        int // index of the next late joiner
	// witnesses are the members paused by staleWitness, not to be
	// crashed until they resume.
	witnesses map[*member]bool
	// restartSeen: how long after its restart every live member held the
	// restarted member alive (-1: no restart, or not within the bound).
	restartSeen time.Duration
}

func newNemesis(s *sim, sw Swarm, end time.Duration, nextLate int) *nemesis {
	nm := &nemesis{s: s, sw: sw, end: end, pauses: map[*member]int{}, starves: map[*member]int{}, partition: -1, restartSeen: -1, nextLate: nextLate, witnesses: map[*member]bool{}}
	s.w.Net.SetConfig(sw.Net)
	s.h.Loss = append(s.h.Loss, LossPeriod{Interval{0, Forever}, sw.Net.LossPPM})
	return nm
}

// arm schedules every fault kind's first injection.
func (nm *nemesis) arm() {
	nm.every(nm.sw.CrashEvery, nm.crash)
	nm.every(nm.sw.PauseEvery, nm.pause)
	nm.every(nm.sw.StarveEvery, nm.starve)
	nm.every(nm.sw.PartitionEvery, nm.partitionStart)
	nm.every(nm.sw.LossEvery, nm.lossBurst)
	nm.every(nm.sw.TagsEvery, nm.tags)
	nm.everyFrom(nm.s.rEvents, nm.sw.UserEventEvery, nm.userEvent)
	nm.everyFrom(nm.s.rLeave, nm.sw.LeaveEvery, nm.leave)
	nm.armForceLeave()
	if late := nm.sw.Late; late > 0 {
		nm.every((nm.end-nm.s.w.Now())/time.Duration(late+1), nm.join)
	}
	nm.s.w.At(nm.end, nm.heal)
}

// every runs f at random gaps of mean `mean` until the phase ends.
func (nm *nemesis) every(mean time.Duration, f func()) { nm.everyFrom(nm.s.rNem, mean, f) }

// everyFrom is every drawing the gaps from r.
func (nm *nemesis) everyFrom(r *rand.Rand, mean time.Duration, f func()) {
	if mean <= 0 {
		return
	}
	gap := mean/2 + time.Duration(r.Int64N(int64(mean)))
	nm.s.w.After(gap, func() {
		if nm.healed || nm.s.w.Now() >= nm.end {
			return
		}
		f()
		nm.everyFrom(r, mean, f)
	})
}

func (nm *nemesis) pick(ok func(*member) bool) *member {
	var c []*member
	for _, m := range nm.s.up() {
		if ok(m) {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[nm.s.rNem.IntN(len(c))]
}

func (nm *nemesis) span(max time.Duration) time.Duration {
	return time.Second + time.Duration(nm.s.rNem.Int64N(int64(max)))
}

func (nm *nemesis) crash() {
	if nm.crashed >= nm.sw.MaxCrashes || len(nm.s.up()) <= 2 {
		return
	}
	m := nm.pick(func(m *member) bool { return !nm.witnesses[m] && !m.leaving })
	if m == nil {
		return
	}
	now := nm.s.w.Now()
	nm.closeFault(nm.pauses, m)
	nm.closeFault(nm.starves, m)
	m.crash()
	nm.crashed++
	nm.counts.Crash++
	nm.s.h.Faults = append(nm.s.h.Faults, Fault{FaultCrash, m.name, Interval{now, Forever}})
	nm.s.w.Tracef("nemesis crash %s", m.name)
	if nm.sw.StaleWitness {
		nm.staleWitness()
	}
}

// staleWitness pauses a random live member for the longest suspicion
// plus its push-pull interval: the others declare the crashed member dead
// meanwhile, and when it resumes its overdue push-pull, drained before
// the gossip queued for it, offers the crashed member as alive at the
// incarnation it died at. Without it, a stale alive meeting a newer dead
// was rare (a revival planted in handleAlive was caught in 4 of 100
// seeds).
//
// The witness is not crashed while it waits, and the scenario is skipped
// when the heal would resume it early.
func (nm *nemesis) staleWitness() {
	cfg := nm.s.config(0, "x", "x")
	d := pushPullPeriod(cfg, nm.sw.Members) + maxSuspicion(cfg, nm.sw.Members)
	if len(nm.s.up()) <= 3 || nm.s.w.Now()+d >= nm.end {
		return
	}
	m := nm.pick(func(m *member) bool { _, p := nm.pauses[m]; return !p })
	if m == nil {
		return
	}
	m.host.Pause()
	nm.witnesses[m] = true
	nm.open(nm.pauses, m, FaultPause, d, func() { m.host.Resume(); delete(nm.witnesses, m) })
	nm.counts.Pause++
}

func (nm *nemesis) closeFault(open map[*member]int, m *member) {
	if i, ok := open[m]; ok {
		nm.s.h.Faults[i].End = nm.s.w.Now()
		delete(open, m)
	}
}

func (nm *nemesis) pause() {
	m := nm.pick(func(m *member) bool { _, p := nm.pauses[m]; return !p })
	if m == nil {
		return
	}
	d := nm.span(nm.sw.PauseMax)
	m.host.Pause()
	nm.open(nm.pauses, m, FaultPause, d, func() { m.host.Resume() })
	nm.counts.Pause++
}

func (nm *nemesis) starve() {
	m := nm.pick(func(m *member) bool { _, p := nm.starves[m]; return !p })
	if m == nil {
		return
	}
	d := nm.span(nm.sw.StarveMax)
	m.starved = true
	nm.open(nm.starves, m, FaultStarve, d, func() { m.starved = false })
	nm.counts.Starve++
}

// open logs a fault on m and schedules its end (undo) after d, unless a
// crash or the heal closes it first.
func (nm *nemesis) open(set map[*member]int, m *member, k FaultKind, d time.Duration, undo func()) {
	now := nm.s.w.Now()
	i := len(nm.s.h.Faults)
	nm.s.h.Faults = append(nm.s.h.Faults, Fault{k, m.name, Interval{now, Forever}})
	set[m] = i
	nm.s.w.Tracef("nemesis %s %s for %v", k, m.name, d)
	nm.s.w.After(d, func() {
		if j, ok := set[m]; ok && j == i {
			undo()
			nm.closeFault(set, m)
		}
	})
}

func (nm *nemesis) partitionStart() {
	if nm.partition >= 0 {
		return
	}
	up := nm.s.up()
	size := 1 + nm.s.rNem.IntN(max(1, len(up)/2))
	nm.s.rNem.Shuffle(len(up), func(i, j int) { up[i], up[j] = up[j], up[i] })
	p := Partition{Interval: Interval{nm.s.w.Now(), Forever}, OneWay: nm.s.rNem.IntN(4) == 0}
	for _, m := range up[:size] {
		p.Group = append(p.Group, m.name)
	}
	nm.cut(p, true)
	nm.partition = len(nm.s.h.Partitions)
	nm.s.h.Partitions = append(nm.s.h.Partitions, p)
	nm.counts.Partition++
	d := nm.span(nm.sw.PartitionMax)
	if d > maxSuspicion(nm.s.config(0, "x", "x"), nm.sw.Members) {
		nm.counts.LongPartition++
	}
	nm.s.w.Tracef("nemesis partition %v oneway=%v for %v", p.Group, p.OneWay, d)
	i := nm.partition
	nm.s.w.After(d, func() {
		if nm.partition == i {
			nm.partitionEnd()
		}
	})
}

// cut blocks (or unblocks) every link the partition cuts.
func (nm *nemesis) cut(p Partition, block bool) {
	for _, a := range nm.s.members {
		if !p.in(a.name) {
			continue
		}
		for _, b := range nm.s.members {
			if p.in(b.name) {
				continue
			}
			x, y := a.host.Addr(), b.host.Addr()
			switch {
			case block && p.OneWay:
				nm.s.w.Net.Block(x, y)
			case block:
				nm.s.w.Net.BlockBoth(x, y)
			default:
				nm.s.w.Net.Unblock(x, y)
				nm.s.w.Net.Unblock(y, x)
			}
		}
	}
}

func (nm *nemesis) partitionEnd() {
	p := &nm.s.h.Partitions[nm.partition]
	nm.cut(*p, false)
	p.End = nm.s.w.Now()
	nm.partition = -1
	nm.s.w.Tracef("nemesis partition healed")
}

func (nm *nemesis) setLoss(ppm int) {
	now := nm.s.w.Now()
	nm.s.h.Loss[nm.lossIdx].End = now
	nm.lossIdx = len(nm.s.h.Loss)
	nm.s.h.Loss = append(nm.s.h.Loss, LossPeriod{Interval{now, Forever}, ppm})
	c := nm.s.w.Net.Config()
	c.LossPPM = ppm
	nm.s.w.Net.SetConfig(c)
}

func (nm *nemesis) lossBurst() {
	if nm.burst {
		return
	}
	nm.burst = true
	nm.setLoss(nm.sw.LossBurstPPM)
	nm.counts.LossBurst++
	d := nm.span(nm.sw.LossMax)
	nm.s.w.Tracef("nemesis loss %d ppm for %v", nm.sw.LossBurstPPM, d)
	nm.s.w.After(d, func() {
		if nm.burst && !nm.healed {
			nm.burst = false
			nm.setLoss(nm.sw.Net.LossPPM)
		}
	})
}

func (nm *nemesis) tags() {
	m := nm.pick(func(m *member) bool { return !m.host.Paused() && !m.leaving })
	if m == nil {
		return
	}
	nm.s.setTags(m)
	nm.counts.Tags++
}

// userEvent has a random running member fire a user event. It draws
// from its own stream, so the workload leaves the faults' draws alone.
func (nm *nemesis) userEvent() {
	up := nm.s.up()
	var c []*member
	for _, m := range up {
		if !m.host.Paused() && !m.leaving {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return
	}
	nm.s.events.fire(c[nm.s.rEvents.IntN(len(c))])
	nm.counts.UserEvents++
}

// maxLeaveWait bounds how long a leaving member waits for LeaveDone
// before it shuts down anyway, as a driver's leave timeout does.
const maxLeaveWait = 10 * time.Second

// leave has a random running member leave gracefully, then shut down
// once its leave message has been sent its full retransmit count (or
// after maxLeaveWait); the shutdown is logged as a crash, so checkers
// 1 and 4 judge the member gone and checker 7 judges it left. Leaves
// count toward MaxCrashes.
func (nm *nemesis) leave() {
	if nm.crashed >= nm.sw.MaxCrashes || len(nm.s.up()) <= 2 {
		return
	}
	var c []*member
	for _, m := range nm.s.up() {
		if !m.host.Paused() && !m.leaving && !nm.witnesses[m] {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return
	}
	m := c[nm.s.rLeave.IntN(len(c))]
	if err := m.node.Leave(m.now()); err != nil {
		nm.s.violate(CheckDriver, fmt.Sprintf("%s: leave: %v", m.name, err))
		return
	}
	m.leaving = true
	m.drain()
	nm.crashed++
	nm.counts.Leave++
	nm.s.h.Left = append(nm.s.h.Left, m.name)
	nm.s.w.Tracef("nemesis leave %s", m.name)
	deadline := nm.s.w.Now() + maxLeaveWait
	quiet := nm.quietLeave(m)
	faults := nm.faultsInjected()
	lossIdx, partitions := nm.lossIdx, len(nm.s.h.Partitions)
	var wait func()
	wait = func() {
		if m.node == nil {
			return
		}
		if !m.node.LeaveDone() && nm.s.w.Now() < deadline {
			nm.s.w.After(100*time.Millisecond, wait)
			return
		}
		now := nm.s.w.Now()
		nm.closeFault(nm.pauses, m)
		nm.closeFault(nm.starves, m)
		m.crash()
		nm.s.h.Faults = append(nm.s.h.Faults, Fault{FaultCrash, m.name, Interval{now, Forever}})
		nm.s.w.Tracef("nemesis %s shut down after leaving", m.name)
		if quiet && nm.faultsInjected() == faults && nm.lossIdx == lossIdx && len(nm.s.h.Partitions) == partitions {
			nm.s.h.QuietLeaves = append(nm.s.h.QuietLeaves, m.name)
		}
	}
	wait()
}

// quietLeave reports whether m leaves with nothing in the way of its
// leave message: zero loss, no partition, no member paused (a paused
// recipient may crash before it resumes), and no crashed member still
// live in m's table (every copy could go to one). If it stays so until
// m shuts down (no fault of any kind injected meanwhile), checker 7
// wants its leave heard by some member (History.QuietLeaves).
func (nm *nemesis) quietLeave(m *member) bool {
	if nm.s.h.Loss[nm.lossIdx].LossPPM != 0 || nm.partition >= 0 || len(nm.pauses) > 0 {
		return false
	}
	for _, x := range m.node.Members() {
		if o := nm.s.byName[x.Name]; o != nil && o.node == nil && isLive(x.State) {
			return false
		}
	}
	return true
}

// faultsInjected counts the faults that can stop a message: crashes,
// leaves, pauses, starves, partitions and loss bursts.
func (nm *nemesis) faultsInjected() int {
	c := nm.counts
	return c.Crash + c.Leave + c.Pause + c.Starve + c.Partition + c.LossBurst
}

// join starts the next late member, joining one or two running ones.
func (nm *nemesis) join() {
	if nm.nextLate >= len(nm.s.members) || nm.partition >= 0 {
		return
	}
	m := nm.s.members[nm.nextLate]
	nm.nextLate++
	var to []*member
	for range 1 + nm.s.rNem.IntN(2) {
		if x := nm.pick(func(*member) bool { return true }); x != nil {
			to = append(to, x)
		}
	}
	nm.s.start(m, to)
	nm.counts.Join++
}

// rejoin makes every member whose Join never got a reply join again
// through a random live member, as an operator whose retry_join list had
// only crashed members would fix it: no gossip protocol can join through
// dead contacts (seed 929: a late joiner's only contact was paused, then
// crashed, before answering; the joiner retried it until the end).
func (nm *nemesis) rejoin() {
	for _, m := range nm.s.up() {
		if !m.joining || m.node.Joined() || m.leaving {
			continue
		}
		to := nm.pick(func(x *member) bool { return x != m })
		if to == nil {
			continue
		}
		nm.s.w.Tracef("nemesis rejoin %s through %s", m.name, to.name)
		if err := m.join([]string{to.host.Addr()}); err != nil {
			nm.s.violate(CheckDriver, fmt.Sprintf("%s: rejoin: %v", m.name, err))
		}
	}
}

// heal ends every fault (crashes stay) and starts the members that have
// not joined yet.
func (nm *nemesis) heal() {
	if nm.partition >= 0 {
		nm.partitionEnd()
	}
	for _, m := range nm.s.members {
		if _, ok := nm.pauses[m]; ok {
			m.host.Resume()
			nm.closeFault(nm.pauses, m)
		}
		if _, ok := nm.starves[m]; ok {
			m.starved = false
			nm.closeFault(nm.starves, m)
		}
	}
	if nm.burst {
		nm.burst = false
		nm.setLoss(nm.sw.Net.LossPPM)
	}
	nm.healed = true
	for nm.nextLate < len(nm.s.members) {
		nm.join()
	}
	nm.rejoin()
	nm.s.h.HealAt = nm.s.w.Now()
	nm.s.w.Tracef("nemesis heal")
}
