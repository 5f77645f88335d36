package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

type options struct {
	addrs     []string
	clients   int
	duration  time.Duration
	warmup    time.Duration
	valueSize int
	keys      int
	op        string
	prefix    string
	preload   bool

	watchers  int
	watchKeys int
	rounds    int
	writes    int
	pid       int

	kernelStamps bool

	dir    string
	fsyncs int
}

func main() {
	if n, ok := floorServer(); ok {
		if err := runWatchFloorServer(n); err != nil {
			fail("agentd-bench: %v", err)
		}
		return
	}
	var o options
	var addrs, mode string
	flag.StringVar(&mode, "mode", "load", "load, watch, idle-watch, watch-floor, fsync or fsync-concurrent")
	flag.StringVar(&addrs, "addr", "127.0.0.1:8500", "agentd HTTP addresses, comma-separated; clients spread round-robin")
	flag.IntVar(&o.clients, "clients", 64, "concurrent closed-loop clients, one connection each")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before the measured duration")
	flag.IntVar(&o.valueSize, "value-size", 256, "value size in bytes")
	flag.IntVar(&o.keys, "keys", 10000, "key space: keys drawn uniformly from this many")
	flag.StringVar(&o.op, "op", "put", "put, get (default consistency), get-consistent or get-stale")
	flag.StringVar(&o.prefix, "prefix", "bench/", "key prefix")
	flag.BoolVar(&o.preload, "preload", false, "write every key once before measuring (always on for get ops)")
	flag.IntVar(&o.watchers, "watchers", 10000, "watch modes: blocking queries (one connection each)")
	flag.IntVar(&o.watchKeys, "watch-keys", 1, "watch mode: keys the watchers are spread over")
	flag.IntVar(&o.rounds, "rounds", 5, "watch mode: rounds of one write per watched key")
	flag.IntVar(&o.writes, "writes", 10000, "idle-watch mode: PUTs to b/* while watchers wait on a/x")
	flag.IntVar(&o.pid, "pid", 0, "watch modes: agentd PID whose VmRSS/VmHWM to report (0: skip)")
	flag.BoolVar(&o.kernelStamps, "rx-timestamps", false, "watch mode: a wake's time is the kernel's receive timestamp of the answer (SO_TIMESTAMPNS), not the clock read after the watcher's goroutine has read it")
	flag.StringVar(&o.dir, "dir", ".", "fsync mode: directory on the filesystem under test")
	flag.IntVar(&o.fsyncs, "fsyncs", 1000, "fsync mode: appends+fdatasync to time")
	flag.Parse()
	o.addrs = strings.Split(addrs, ",")
	if o.clients < 1 || o.valueSize < 0 || o.keys < 1 || o.duration <= 0 {
		fail("agentd-bench: need -clients >= 1, -keys >= 1, -value-size >= 0, -duration > 0")
	}
	var err error
	switch mode {
	case "load":
		_, err = runLoad(o)
	case "watch":
		_, err = runWatch(o)
	case "idle-watch":
		_, err = runIdleWatch(o)
	case "watch-floor":
		err = runWatchFloor(o)
	case "fsync":
		err = runFsync(o)
	case "fsync-concurrent":
		err = runFsyncConcurrent(o)
	default:
		err = fmt.Errorf("unknown -mode %q", mode)
	}
	if err != nil {
		fail("agentd-bench: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
