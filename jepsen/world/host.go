package world

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentd/agentd/internal/vfs"
)

// Host is one simulated machine: an address on the network, a clock, a
// disk queue, and the events it owns. Use World.AddHost.
type Host struct {
	w    *World
	addr string

	epoch    uint64   // advances on Crash: events of older epochs are dropped
	up       bool     // false between Crash and Restart
	paused   bool     // events are deferred while set
	deferred []*Event // due while paused, in due order

	clock Clock

	// Disk: operations queue while one batch is being written; when it
	// completes, everything queued meanwhile is written as the next batch
	// (group commit), taking diskLatency*diskSlow as of its start.
	diskLatency time.Duration
	diskSlow    int64    // multiplier for slow-disk faults, >= 1
	diskQ       []func() // waiting for the current batch to finish
	diskBusy    bool     // a batch is in flight
	diskSpare   []func() // empty slice of the last finished batch, reused by the next
	fs          *vfs.Mem // the host's disk; survives crashes as vfs.Mem allows

	onDatagram func(from string, b []byte)
	onStream   func(s *Stream)
}

// AddHost registers a host at addr. Addresses are never reused.
func (w *World) AddHost(addr string) *Host {
	if _, ok := w.hosts[addr]; ok {
		panic(fmt.Sprintf("world: host %q added twice", addr))
	}
	h := &Host{w: w, addr: addr, up: true, diskSlow: 1, fs: vfs.NewMem()}
	h.clock = Clock{h: h, ratePPM: 1_000_000}
	w.hosts[addr] = h
	w.order = append(w.order, h)
	return h
}

// Host returns the host at addr, or nil.
func (w *World) Host(addr string) *Host { return w.hosts[addr] }

// Hosts returns every host in creation order.
func (w *World) Hosts() []*Host { return w.order }

// Addr is the host's network address.
func (h *Host) Addr() string { return h.addr }

// Up reports whether the host is running (not crashed).
func (h *Host) Up() bool { return h.up }

// Paused reports whether the host is paused.
func (h *Host) Paused() bool { return h.paused }

// Epoch counts the host's crashes; work scheduled under an older epoch is
// lost.
func (h *Host) Epoch() uint64 { return h.epoch }

// Go schedules fn on the host d after now (global virtual time). It is
// deferred while the host is paused and dropped if the host crashes first.
func (h *Host) Go(d time.Duration, fn func()) *Event { return h.w.schedule(h.w.now+d, h, fn) }

// Pause stops the host: its due events wait until Resume (a stopped
// process: no ticks, no message handling, no disk completions). Its clock
// keeps running, so on resume it sees the time jump.
func (h *Host) Pause() { h.paused = true }

// Resume re-runs the deferred events, in order, from now.
func (h *Host) Resume() {
	if !h.paused {
		return
	}
	h.paused = false
	d := h.deferred
	h.deferred = nil
	for _, e := range d {
		if e.cancelled || e.epoch != h.epoch {
			continue
		}
		h.w.seq++
		e.at, e.seq = h.w.now, h.w.seq
		pushEvent(h.w, e)
	}
}

// FS is the host's disk.
func (h *Host) FS() *vfs.Mem { return h.fs }

// Crash kills the host's process: every pending event it owns is dropped,
// its handlers are cleared, and it stays down until Restart. The disk
// loses what vfs.Mem.Crash decides (drawn from r) of its unsynced writes;
// a nil r leaves the disk alone (a process crash without power loss).
func (h *Host) Crash(r *rand.Rand) {
	if r != nil {
		h.fs.Crash(r)
	}
	h.epoch++
	h.up = false
	h.paused = false
	h.deferred = nil
	h.diskQ, h.diskBusy = nil, false
	h.onDatagram = nil
	h.onStream = nil
}

// Restart brings a crashed host back up (with no handlers: the caller
// rebuilds its process and registers them again).
func (h *Host) Restart() {
	if h.up {
		panic(fmt.Sprintf("world: restart of running host %q", h.addr))
	}
	h.up = true
}

// SetDisk sets the base latency of one disk operation.
func (h *Host) SetDisk(latency time.Duration) { h.diskLatency = latency }

// SetDiskSlow multiplies disk latency by factor (1: normal).
func (h *Host) SetDiskSlow(factor int64) {
	if factor < 1 {
		panic(fmt.Sprintf("world: disk slow factor %d < 1", factor))
	}
	h.diskSlow = factor
}

// DiskLatency is the latency of one disk operation started now (the base
// latency times the slow factor).
func (h *Host) DiskLatency() time.Duration { return h.diskLatency * time.Duration(h.diskSlow) }

// DiskSlow returns the current disk latency multiplier.
func (h *Host) DiskSlow() int64 { return h.diskSlow }

// Disk queues fn as one disk operation. Operations complete in
// submission order, in batches: every operation queued while a batch is
// in flight is written by the next one, which takes one latency (at the
// slow factor in force when it starts). fn runs on the host (deferred by
// pauses, lost on crash: the caller performs the actual write inside fn,
// so that a crash before completion loses it).
func (h *Host) Disk(fn func()) {
	h.diskQ = append(h.diskQ, fn)
	if !h.diskBusy {
		h.startDisk()
	}
}

func (h *Host) startDisk() {
	batch := h.diskQ
	// The next batch fills the previous batch's slice (it is done with):
	// two slices alternate instead of a new one per batch.
	h.diskQ, h.diskSpare = h.diskSpare, nil
	h.diskBusy = true
	h.Go(h.diskLatency*time.Duration(h.diskSlow), func() {
		for _, fn := range batch {
			fn()
		}
		clear(batch) // drop the closures
		h.diskSpare = batch[:0]
		h.diskBusy = false
		if len(h.diskQ) > 0 {
			h.startDisk()
		}
	})
}
