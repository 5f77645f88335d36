package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loop runs w's blocking GETs until ctx ends. Each return with a new index
// is a wake: onWake gets the receive time. A return with the same index
// (wait expired, or a wake with nothing new) counts as spurious.
func (w *watcher) loop(ctx context.Context, sent, spurious, failed *atomic.Int64, onWake func(time.Time)) {
	for ctx.Err() == nil {
		sent.Add(1)
		code, idx, err := w.c.getWait(w.path, w.index)
		t := w.c.received()
		if ctx.Err() != nil {
			return
		}
		if err != nil || code != http.StatusOK {
			failed.Add(1)
			return
		}
		if idx == w.index {
			spurious.Add(1)
			continue
		}
		w.index = idx
		onWake(t)
	}
}

// runWatch measures wake latency and agent memory with many watchers.
// watchResult is what a watch run counted.
type watchResult struct{ wakes, spurious int }

func runWatch(o options) (watchResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := o.addrs[0]
	ctl := newConn(addr)
	keys := make([]string, o.watchKeys)
	keyOf := map[string]int{}
	for i := range keys {
		keys[i] = fmt.Sprintf("%sw/%06d", o.prefix, i)
		keyOf[keys[i]] = i
	}
	writers := make([]*conn, min(16, len(keys)))
	for i := range writers {
		writers[i] = newConn(addr)
	}
	if err := preload(ctx, writers, len(keys), func(i int) string { return keys[i] }, []byte("r0")); err != nil {
		return watchResult{}, err
	}
	rss0, hwm0 := readMem(o.pid)
	fmt.Printf("agent before watchers: VmRSS %.1f MB VmHWM %.1f MB\n", rss0, hwm0)
	st, err := agentStore(ctx, ctl)
	if err != nil {
		return watchResult{}, err
	}
	armStart := time.Now()
	ws, err := armWatchers(ctx, addr, keys, o.watchers, o.kernelStamps)
	if err != nil {
		return watchResult{}, err
	}
	defer closeWatchers(ws)
	writeStart := make([]atomic.Int64, len(keys))
	parts := make([]latencies, len(ws))
	var woke, sent, spurious, failed atomic.Int64
	var wg sync.WaitGroup
	for i, w := range ws {
		k := keyOf[w.key]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, &sent, &spurious, &failed, func(t time.Time) {
				parts[i] = append(parts[i], t.Sub(time.Unix(0, writeStart[k].Load())))
				woke.Add(1)
			})
		}()
	}
	n := uint64(len(ws))
	var peakRSS float64
	var parkedG uint64
	base := st["watches_added"]
	cpu0, self0 := procCPU(o.pid), selfCPU()
	for r := 1; r <= o.rounds; r++ {
		// Every blocking GET registers exactly one watch before it parks
		// (a woken query re-reads without a watch once the index moved):
		// round r starts once every watcher has sent its r-th GET and
		// r*n watches were handed out, i.e. all are parked again.
		want := uint64(r) * n
		sentBy := time.Now().Add(time.Minute)
		for sent.Load() < int64(r)*int64(len(ws)) {
			if failed.Load() > 0 || time.Now().After(sentBy) {
				return watchResult{}, fmt.Errorf("round %d: %d of %d GETs sent, %d failed", r, sent.Load(), int64(r)*int64(len(ws)), failed.Load())
			}
			time.Sleep(2 * time.Millisecond) // poll interval
		}
		if _, err := waitParked(ctx, ctl, base, want, 2*time.Minute); err != nil {
			return watchResult{}, fmt.Errorf("round %d: %w", r, err)
		}
		if r == 1 {
			fmt.Printf("%d watchers on %d keys parked in %v\n", len(ws), len(keys), time.Since(armStart).Round(time.Millisecond))
			if st, err = agentStore(ctx, ctl); err != nil {
				return watchResult{}, err
			}
			parkedG = st["goroutines"]
		}
		rss, _ := readMem(o.pid)
		peakRSS = max(peakRSS, rss)
		target := woke.Load() + int64(len(ws))
		val := []byte("r" + strconv.Itoa(r))
		var wwg sync.WaitGroup
		for wi, c := range writers {
			wwg.Add(1)
			go func() {
				defer wwg.Done()
				for k := wi; k < len(keys); k += len(writers) {
					writeStart[k].Store(time.Now().UnixNano())
					if err := c.put(ctx, keys[k], val); err != nil {
						fmt.Fprintf(os.Stderr, "round %d: %v\n", r, err)
					}
				}
			}()
		}
		wwg.Wait()
		deadline := time.Now().Add(time.Minute)
		for woke.Load() < target && failed.Load() == 0 {
			if time.Now().After(deadline) {
				return watchResult{}, fmt.Errorf("round %d: %d of %d watchers woke within a minute", r, woke.Load()-target+int64(len(ws)), len(ws))
			}
			time.Sleep(2 * time.Millisecond) // poll interval
		}
		if failed.Load() > 0 {
			return watchResult{}, fmt.Errorf("round %d: %d watcher requests failed", r, failed.Load())
		}
	}
	cpu1, self1 := procCPU(o.pid), selfCPU()
	cancel()
	interruptWatchers(ws)
	wg.Wait() // the watchers' samples are read below
	rss1, hwm1 := readMem(o.pid)
	all := merge(parts)
	fmt.Printf("cpu during the rounds: agent %.2fs, this tool %.2fs (agent goroutines parked: %d)\n", (cpu1 - cpu0).Seconds(), (self1 - self0).Seconds(), parkedG)
	fmt.Printf("watch: %d watchers on %d keys, %d rounds: %d wakes, %d spurious returns; wake latency p50 %.3f ms p99 %.3f ms p999 %.3f ms max %.3f ms\n",
		len(ws), len(keys), o.rounds, len(all), spurious.Load(), ms(all.at(0.5)), ms(all.at(0.99)), ms(all.at(0.999)), ms(all.at(1)))
	fmt.Printf("agent memory: VmRSS parked peak %.1f MB, at end %.1f MB, VmHWM %.1f MB\n", peakRSS, rss1, hwm1)
	fmt.Printf("RESULT system=agentd op=watch watchers=%d keys=%d wakes=%d spurious=%d p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f rss_mb=%.1f hwm_mb=%.1f\n",
		len(ws), len(keys), len(all), spurious.Load(), ms(all.at(0.5)), ms(all.at(0.99)), ms(all.at(0.999)), peakRSS, hwm1)
	return watchResult{wakes: len(all), spurious: int(spurious.Load())}, nil
}

// runIdleWatch parks watchers on a/x, writes b/*, and checks that no
// watcher woke: on the client (early returns) and in the store's counter.
// idleResult is what an idle-watch run counted.
type idleResult struct{ clientWakes, spurious, storeWakeups, controlWakes int }

func runIdleWatch(o options) (idleResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := o.addrs[0]
	ctl := newConn(addr)
	if err := ctl.put(ctx, "a/x", []byte("x")); err != nil {
		return idleResult{}, err
	}
	st0, err := agentStore(ctx, ctl)
	if err != nil {
		return idleResult{}, err
	}
	ws, err := armWatchers(ctx, addr, []string{"a/x"}, o.watchers, false)
	if err != nil {
		return idleResult{}, err
	}
	defer closeWatchers(ws)
	var woke, sent, spurious, failed atomic.Int64
	for _, w := range ws {
		go w.loop(ctx, &sent, &spurious, &failed, func(time.Time) { woke.Add(1) })
	}
	if _, err := waitParked(ctx, ctl, st0["watches_added"], uint64(len(ws)), 2*time.Minute); err != nil {
		return idleResult{}, err
	}
	before, err := agentStore(ctx, ctl)
	if err != nil {
		return idleResult{}, err
	}
	writers := make([]*conn, o.clients)
	for i := range writers {
		writers[i] = newConn(addr)
	}
	t0 := time.Now()
	if err := preload(ctx, writers, o.writes, func(i int) string { return fmt.Sprintf("b/%06d", i) }, []byte("v")); err != nil {
		return idleResult{}, err
	}
	took := time.Since(t0)
	wokeByB := woke.Load()
	after, err := agentStore(ctx, ctl)
	if err != nil {
		return idleResult{}, err
	}
	fmt.Printf("idle-watch: %d watchers on a/x, %d PUTs to b/* in %v: client wakes %d, spurious returns %d; store wakeups %d -> %d (+%d), watch_fires +%d\n",
		len(ws), o.writes, took.Round(time.Millisecond), wokeByB, spurious.Load(),
		before["wakeups"], after["wakeups"], after["wakeups"]-before["wakeups"], after["watch_fires"]-before["watch_fires"])
	// Control: a write to a/x must wake every watcher, so the zero above
	// is not a counter that never moves.
	target := wokeByB + int64(len(ws))
	if err := ctl.put(ctx, "a/x", []byte("y")); err != nil {
		return idleResult{}, err
	}
	deadline := time.Now().Add(time.Minute)
	for woke.Load() < target && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // poll interval
	}
	ctrl, err := agentStore(ctx, ctl)
	if err != nil {
		return idleResult{}, err
	}
	fmt.Printf("control: PUT a/x woke %d clients, store wakeups +%d\n", woke.Load()-wokeByB, ctrl["wakeups"]-after["wakeups"])
	fmt.Printf("RESULT system=agentd op=idle-watch watchers=%d writes=%d client_wakes=%d spurious=%d store_wakeups=%d control_wakes=%d\n",
		len(ws), o.writes, wokeByB, spurious.Load(), after["wakeups"]-before["wakeups"], woke.Load()-wokeByB)
	return idleResult{clientWakes: int(wokeByB), spurious: int(spurious.Load()),
		storeWakeups: int(after["wakeups"] - before["wakeups"]), controlWakes: int(woke.Load() - wokeByB)}, nil
}

// readMem returns VmRSS and VmHWM of pid in MB (0, 0 without a pid).
func readMem(pid int) (rss, hwm float64) {
	if pid <= 0 {
		return 0, 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
