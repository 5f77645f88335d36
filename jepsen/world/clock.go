package world

import (
	"fmt"
	"time"

	"github.com/agentd/agentd/internal/clock"
)

// Clock is a host's virtual clock, implementing clock.Clock. It runs at
// ratePPM parts per million of global virtual time (clock-rate skew), and
// its timers are host events: a pause defers them, a crash drops them.
//
// Invariant: local time = localRef + (global - globalRef) * ratePPM / 1e6.
type Clock struct {
	h         *Host
	ratePPM   int64
	globalRef time.Duration
	localRef  time.Duration
}

var _ clock.Clock = (*Clock)(nil)

// Clock returns the host's clock.
func (h *Host) Clock() *Clock { return &h.clock }

// local returns the host's local elapsed time.
func (c *Clock) local() time.Duration {
	g := c.h.w.now - c.globalRef
	return c.localRef + time.Duration(int64(g)/1_000_000*c.ratePPM+int64(g)%1_000_000*c.ratePPM/1_000_000)
}

// Now returns the host's skewed time.
func (c *Clock) Now() time.Time { return Epoch.Add(c.local()) }

// SetRate sets the clock rate in parts per million of real (global
// virtual) time: 1_000_000 is exact, 1_100_000 runs 10% fast.
func (c *Clock) SetRate(ppm int64) {
	if ppm < 100_000 || ppm > 10_000_000 {
		panic(fmt.Sprintf("world: clock rate %d ppm out of range", ppm))
	}
	c.localRef = c.local()
	c.globalRef = c.h.w.now
	c.ratePPM = ppm
}

// Rate returns the clock rate in parts per million.
func (c *Clock) Rate() int64 { return c.ratePPM }

// Global converts a local duration to global virtual time at the current
// rate, rounding up so a timer never fires early by its own clock.
func (c *Clock) Global(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	n := int64(d)
	q, r := n/c.ratePPM, n%c.ratePPM
	g := q*1_000_000 + (r*1_000_000+c.ratePPM-1)/c.ratePPM
	return time.Duration(g)
}

// AfterFunc runs f on the host after local duration d.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return &timer{w: c.h.w, e: c.h.Go(c.Global(d), f)}
}

type timer struct {
	w *World
	e *Event
}

func (t *timer) Stop() bool { return t.e.Cancel(t.w) }
