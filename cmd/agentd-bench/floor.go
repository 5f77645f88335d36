package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The watch floor: what "one write wakes -watchers blocking queries" costs
// on this machine when the server does nothing but the unavoidable. A
// child process (so that both sides' sockets fit the per-process file
// limit) accepts the watchers' connections, gives each a goroutine that
// reads its next requests, and, on a trigger byte from a control
// connection, writes one pre-rendered answer of floorAnswerSize bytes to
// every watcher from GOMAXPROCS writers. No HTTP parsing, no store, no
// JSON, no Raft. This process plays the watchers as cheaply as it can: one
// goroutine per connection reads the answer, stamps it, and writes its
// next request of floorRequestSize bytes, as a real watcher re-arms. A
// wake's latency is from just before the trigger is sent to the last byte
// of the answer, as in -mode watch. agentd's own figure cannot beat this.
const (
	floorAnswerSize  = 330 // an agentd KV answer: status, headers, JSON body
	floorRequestSize = 110 // a blocking GET with ?index=&wait=
)

// floorServerEnv, set to the number of watchers, makes the process the
// floor's server side (an environment variable rather than a flag, so the
// test binary can play it too).
const floorServerEnv = "AGENTD_BENCH_FLOOR_SERVER"

// runWatchFloor is -mode watch-floor.
func runWatchFloor(o options) error {
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), floorServerEnv+"="+strconv.Itoa(o.watchers))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("watch floor: start server: %w", err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("watch floor: server address: %w", err)
	}
	addr = addr[:len(addr)-1]
	ctl, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer ctl.Close()
	conns := make([]net.Conn, o.watchers)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", addr); err != nil {
			return fmt.Errorf("watch floor: dial watcher %d: %w", i, err)
		}
		defer conns[i].Close()
	}
	var t0 atomic.Int64
	parts := make([]latencies, len(conns))
	var woke atomic.Int64
	for i, c := range conns {
		go func() {
			req := make([]byte, floorRequestSize)
			buf := make([]byte, 1024)
			if _, err := c.Write(req); err != nil {
				return
			}
			for {
				for got := 0; got < floorAnswerSize; {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					got += n
				}
				parts[i] = append(parts[i], time.Since(time.Unix(0, t0.Load())))
				woke.Add(1)
				if _, err := c.Write(req); err != nil {
					return
				}
			}
		}()
	}
	// The server acknowledges a control byte once every watcher's
	// connection is accepted and its first request read.
	ack := make([]byte, 1)
	if err := floorRound(ctl, 'p', ack); err != nil {
		return err
	}
	cpu0, child0 := selfCPU(), procCPU(child.Process.Pid)
	for r := range o.rounds {
		want := int64(r+1) * int64(len(conns))
		t0.Store(time.Now().UnixNano())
		if err := floorRound(ctl, 'w', ack); err != nil {
			return err
		}
		if err := pollUntil(func() bool { return woke.Load() >= want }, time.Minute); err != nil {
			return fmt.Errorf("watch floor: round %d: %d of %d wakes: %w", r, woke.Load(), want, err)
		}
		// All re-armed: every watcher's next request has been read.
		if err := floorRound(ctl, 'p', ack); err != nil {
			return err
		}
	}
	tool, server := selfCPU()-cpu0, procCPU(child.Process.Pid)-child0
	all := merge(parts)
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(len(all)) }
	fmt.Printf("watch floor: %d watchers, %d rounds: %d wakes; wake latency p50 %.3f ms p99 %.3f ms max %.3f ms; CPU per wake: server %.1f µs, watchers %.1f µs\n",
		len(conns), o.rounds, len(all), ms(all.at(0.5)), ms(all.at(0.99)), ms(all.at(1)), per(server), per(tool))
	fmt.Printf("RESULT system=floor op=watch watchers=%d wakes=%d p50_ms=%.3f p99_ms=%.3f\n", len(conns), len(all), ms(all.at(0.5)), ms(all.at(0.99)))
	return nil
}

// floorRound sends one control byte and waits for the server's reply.
func floorRound(ctl net.Conn, b byte, ack []byte) error {
	if _, err := ctl.Write([]byte{b}); err != nil {
		return fmt.Errorf("watch floor: control: %w", err)
	}
	if _, err := io.ReadFull(ctl, ack); err != nil {
		return fmt.Errorf("watch floor: control: %w", err)
	}
	return nil
}

// pollUntil polls ok with a deadline (not a synchronisation sleep: it
// returns as soon as ok holds).
func pollUntil(ok func() bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// runWatchFloorServer is the child side: it prints its address, takes the
// first connection as control and the next watchers connections as
// watchers.
func runWatchFloorServer(watchers int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	ctl, err := ln.Accept()
	if err != nil {
		return err
	}
	answer := make([]byte, floorAnswerSize)
	conns := make([]net.Conn, watchers)
	var requests atomic.Int64
	for i := range conns {
		if conns[i], err = ln.Accept(); err != nil {
			return err
		}
		go func(c net.Conn) {
			buf := make([]byte, 1024)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				requests.Add(int64(n))
			}
		}(conns[i])
	}
	rounds := int64(0)
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(ctl, b); err != nil {
			return nil // the measuring side is done
		}
		switch b[0] {
		case 'p': // wait until every watcher's latest request is in
			want := (rounds + 1) * int64(len(conns)) * floorRequestSize
			if err := pollUntil(func() bool { return requests.Load() >= want }, time.Minute); err != nil {
				return fmt.Errorf("watch floor server: %d of %d request bytes: %w", requests.Load(), want, err)
			}
		case 'w':
			rounds++
			writeAll(conns, answer)
		}
		if _, err := ctl.Write(b); err != nil {
			return err
		}
	}
}

// writeAll writes answer to every connection from GOMAXPROCS goroutines.
func writeAll(conns []net.Conn, answer []byte) {
	var wg sync.WaitGroup
	w := runtime.GOMAXPROCS(0)
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(conns); i += w {
				conns[i].Write(answer)
			}
		}()
	}
	wg.Wait()
}

// floorServer reports whether this process was started as the floor's
// server side, and for how many watchers.
func floorServer() (int, bool) {
	v := os.Getenv(floorServerEnv)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}
