package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// writer puts unique keys with several workers, each request to one
// server and, on any error, retried at the next one. A key counts as
// acknowledged only on 200 "true"; a retry of the same key with the same
// value is harmless, so a request with an unknown outcome is just retried.
type writer struct {
	c       cluster
	prefix  string
	workers int

	// dead marks a killed server the workers skip.
	dead [8]atomic.Bool

	acked      atomic.Int64
	killedAt   atomic.Int64 // unix nanos of the leader kill; 0 before
	afterKill  atomic.Int64 // acks of requests started after the kill
	firstAfter atomic.Int64 // nanos from the kill to the first such ack; 0 before

	mu   sync.Mutex
	keys []string // acknowledged keys, guarded by mu
}

// cmdWrite runs write load; after -warmup it kills the leader by PID,
// measures the time until a write started after the kill succeeds, and
// once -down more writes were acknowledged it writes "down_done" with the
// figures to -status. It keeps writing until SIGTERM, then writes every
// acknowledged key to -acked.
func cmdWrite(args []string) error {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	httpList := fs.String("http", "", "servers' HTTP addresses, comma-separated")
	pidList := fs.String("pids", "", "servers' PIDs, in the same order")
	ackedPath := fs.String("acked", "", "file to write the acknowledged keys to")
	statusPath := fs.String("status", "", "file to write the phase status to")
	prefix := fs.String("prefix", "fo", "key prefix")
	workers := fs.Int("workers", 8, "concurrent writers")
	warmup := fs.Duration("warmup", 2*time.Second, "load before the leader is killed")
	down := fs.Int64("down", 2000, "writes to acknowledge while the leader is down")
	maxFailover := fs.Duration("max-failover", 5*time.Second, "the longest acceptable failover")
	fs.Parse(args)
	c, err := parseCluster(*httpList, *pidList)
	if err != nil {
		return err
	}
	if len(c.pids) == 0 || *ackedPath == "" || *statusPath == "" || len(c.http) > 8 {
		return fmt.Errorf("-http (at most 8), -pids, -acked and -status are required")
	}
	w := &writer{c: c, prefix: *prefix, workers: *workers}
	ctx, stop := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	var wg sync.WaitGroup
	for i := range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work(ctx, i)
		}()
	}
	status := func(s string) error {
		fmt.Println(s)
		return os.WriteFile(*statusPath, []byte(s+"\n"), 0o644)
	}
	phaseErr := w.killAndMeasure(*warmup, *down, *maxFailover, status, sigc)
	if phaseErr == nil {
		<-sigc // the script restarted the server and lets the load run on
	}
	stop()
	wg.Wait()
	if err := w.writeAcked(*ackedPath); err != nil {
		return err
	}
	fmt.Printf("writer: acked=%d after_kill=%d\n", w.acked.Load(), w.afterKill.Load())
	return phaseErr
}

// killAndMeasure runs the kill phase and reports it through status.
func (w *writer) killAndMeasure(warmup time.Duration, down int64, maxFailover time.Duration, status func(string) error, sigc chan os.Signal) error {
	select {
	case <-time.After(warmup):
	case <-sigc:
		return fmt.Errorf("stopped during warmup")
	}
	if w.acked.Load() == 0 {
		status("fail no writes acknowledged during warmup")
		return fmt.Errorf("no writes acknowledged during warmup")
	}
	lead, err := w.c.findLeader(5*time.Second, nil)
	if err != nil {
		status("fail " + err.Error())
		return err
	}
	before := w.acked.Load()
	w.dead[lead].Store(true)
	w.killedAt.Store(time.Now().UnixNano())
	if err := syscall.Kill(w.c.pids[lead], syscall.SIGKILL); err != nil {
		status("fail kill: " + err.Error())
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for w.afterKill.Load() < down {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("only %d writes acknowledged in 60 s after the kill", w.afterKill.Load())
			status("fail " + msg)
			return fmt.Errorf("%s", msg)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	failover := time.Duration(w.firstAfter.Load())
	downFor := time.Since(time.Unix(0, w.killedAt.Load()))
	verdict := "down_done"
	var err2 error
	if failover > maxFailover {
		verdict = "fail"
		err2 = fmt.Errorf("failover took %v (> %v)", failover, maxFailover)
	}
	status(fmt.Sprintf("%s leader=%d failover_ms=%d acked_before_kill=%d acked_while_down=%d down_for_ms=%d",
		verdict, lead, failover.Milliseconds(), before, w.afterKill.Load(), downFor.Milliseconds()))
	return err2
}

// work writes keys prefix/wNN/SEQ until ctx ends.
func (w *writer) work(ctx context.Context, id int) {
	srv := id % len(w.c.http)
	var mine []string
	defer func() {
		w.mu.Lock()
		w.keys = append(w.keys, mine...)
		w.mu.Unlock()
	}()
	for seq := 0; ; seq++ {
		key := fmt.Sprintf("%s/w%02d/%08d", w.prefix, id, seq)
		for {
			if ctx.Err() != nil {
				return
			}
			for w.dead[srv].Load() {
				srv = (srv + 1) % len(w.c.http)
			}
			start := time.Now().UnixNano()
			if w.put(ctx, w.c.http[srv], key) {
				w.ack(start)
				mine = append(mine, key)
				break
			}
			srv = (srv + 1) % len(w.c.http)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond): // back off before retrying
			}
		}
	}
}

func (w *writer) ack(start int64) {
	w.acked.Add(1)
	k := w.killedAt.Load()
	if k == 0 || start < k {
		return
	}
	w.afterKill.Add(1)
	w.firstAfter.CompareAndSwap(0, time.Now().UnixNano()-k)
}

// put writes key=key and reports whether the server acknowledged it.
func (w *writer) put(ctx context.Context, addr, key string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/v1/kv/"+key, strings.NewReader(key))
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var b [16]byte
	n, _ := resp.Body.Read(b[:])
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b[:n])) == "true"
}

func (w *writer) writeAcked(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	w.mu.Lock()
	for _, k := range w.keys {
		bw.WriteString(k)
		bw.WriteByte('\n')
	}
	w.mu.Unlock()
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
