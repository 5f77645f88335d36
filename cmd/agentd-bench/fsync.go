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

// runFsyncConcurrent times rounds of k concurrent fdatasyncs, k = 1..3,
// each after a 128-byte overwrite inside its own zero-filled, synced file
// (what the WAL does with its preallocated segments): how much three
// Raft nodes sharing this one disk slow each other's flushes.
func runFsyncConcurrent(o options) error {
	const size = 16 << 20
	files := make([]*os.File, 3)
	for i := range files {
		f, err := os.CreateTemp(o.dir, "agentd-bench-fsync-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := f.Write(make([]byte, size)); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		files[i] = f
	}
	rec := make([]byte, 128)
	var base time.Duration
	for k := 1; k <= len(files); k++ {
		l := make(latencies, 0, o.fsyncs)
		errs := make(chan error, k)
		for r := range o.fsyncs {
			off := int64(r*4096) % size
			t0 := time.Now()
			for _, f := range files[:k] {
				go func() {
					if _, err := f.WriteAt(rec, off); err != nil {
						errs <- err
						return
					}
					errs <- syscall.Fdatasync(int(f.Fd()))
				}()
			}
			for range k {
				if err := <-errs; err != nil {
					return err
				}
			}
			l = append(l, time.Since(t0))
		}
		all := merge([]latencies{l})
		if k == 1 {
			base = all.at(0.5)
		}
		fmt.Printf("fsync-concurrent: %d file(s), %d rounds of 128 B overwrite + fdatasync each: p50 %.3f ms (%.2f x one file) p99 %.3f ms\n",
			k, o.fsyncs, ms(all.at(0.5)), float64(all.at(0.5))/float64(base), ms(all.at(0.99)))
	}
	return nil
}
