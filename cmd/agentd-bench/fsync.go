package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// runFsync times -fsyncs appends of 128 bytes, each followed by
// fdatasync, in a fresh file under -dir: the flush latency every
// durable system in a comparison pays on this disk in this run.
func runFsync(o options) error {
	f, err := os.CreateTemp(o.dir, "agentd-bench-fsync-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 128)
	l := make(latencies, 0, o.fsyncs)
	for range o.fsyncs {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
		l = append(l, time.Since(t0))
	}
	all := merge([]latencies{l})
	fmt.Printf("fsync: %d x (128 B append + fdatasync) in %s: p50 %.3f ms p99 %.3f ms\n", o.fsyncs, o.dir, ms(all.at(0.5)), ms(all.at(0.99)))
	fmt.Printf("RESULT system=disk op=fdatasync n=%d p50_ms=%.3f p99_ms=%.3f\n", o.fsyncs, ms(all.at(0.5)), ms(all.at(0.99)))
	return nil
}
