package swimsim

import (
	"fmt"
	"time"

	"github.com/agentd/agentd/swim"
)

// Traffic counts what members sent: datagrams and stream messages
// (push-pulls, fallback pings and their replies), with payload bytes.
// Packet headers (UDP/IP, TCP) are not counted.
type Traffic struct {
	Datagrams, DatagramBytes uint64
	Streams, StreamBytes     uint64
}

func (t Traffic) sub(o Traffic) Traffic {
	return Traffic{t.Datagrams - o.Datagrams, t.DatagramBytes - o.DatagramBytes, t.Streams - o.Streams, t.StreamBytes - o.StreamBytes}
}

// Rate is traffic per member per second of virtual time.
type Rate struct {
	Packets, Bytes float64 // datagrams plus stream messages; their bytes
}

// KbitPerSec is the byte rate in kbit/s.
func (r Rate) KbitPerSec() float64 { return r.Bytes * 8 / 1000 }

func (t Traffic) rate(members int, d time.Duration) Rate {
	div := float64(members) * d.Seconds()
	if div <= 0 {
		return Rate{}
	}
	return Rate{
		Packets: float64(t.Datagrams+t.Streams) / div,
		Bytes:   float64(t.DatagramBytes+t.StreamBytes) / div,
	}
}

// BenchResult is the cost of simulating one pool.
type BenchResult struct {
	Members int
	// BootstrapVirtual is the simulated time until every member counted
	// all n live; BootstrapWall the real time that took.
	BootstrapVirtual, BootstrapWall, BootstrapCPU time.Duration
	// Virtual is the simulated steady-state span after bootstrap, Wall
	// the real time it took, Steps the world events it ran.
	// CPU is the process CPU time over the same span (all threads, the
	// garbage collector's included; 0 where not measured).
	Virtual, Wall, CPU time.Duration
	Steps              uint64
	Rate               Rate // steady-state traffic per member
}

// Bench bootstraps an n-member fault-free LAN pool, then runs it for d of
// virtual time, timing both in real time (the simulator's speed goal:
// N = 1000 for one simulated minute in under a real minute).
func Bench(seed uint64, n int, d time.Duration) (BenchResult, error) {
	r := BenchResult{Members: n}
	t0, c0 := time.Now(), processCPU()
	s := newSim(seed, swim.LANConfig)
	s.record = false
	for range n {
		s.add()
	}
	if !s.bootstrap(n, 10*time.Minute) {
		return r, fmt.Errorf("swimsim: seed %d: %d members did not converge", seed, n)
	}
	c1 := processCPU()
	r.BootstrapVirtual, r.BootstrapWall, r.BootstrapCPU = s.w.Now(), time.Since(t0), c1-c0
	t1, v1, steps, tr := time.Now(), s.w.Now(), s.w.Steps(), s.traffic
	s.w.RunUntil(v1+d, nil)
	r.Virtual, r.Wall, r.CPU, r.Steps = s.w.Now()-v1, time.Since(t1), processCPU()-c1, s.w.Steps()-steps
	r.Rate = s.traffic.sub(tr).rate(n, r.Virtual)
	return r, nil
}
