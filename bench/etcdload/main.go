// Command etcdload drives an etcd cluster with its native Go client in
// the same shape as agentd-bench -mode load: -clients closed-loop
// clients, each with its own clientv3.Client on one endpoint (endpoints
// assigned round-robin, as agentd-bench assigns agents; -conns N shares N
// clients instead, gRPC multiplexing their calls), keys drawn
// uniformly from -keys, -value-size byte values, and the same RESULT line.
//
// It lives in its own module so the main module never depends on etcd.
// Ops: put, get-linearizable (etcd's default Get), get-serializable.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "etcd client URLs, comma-separated")
	clients := flag.Int("clients", 64, "concurrent closed-loop clients")
	conns := flag.Int("conns", 0, "clientv3.Clients shared round-robin by the clients (0: one per client)")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured run before the measured duration")
	valueSize := flag.Int("value-size", 256, "value size in bytes")
	keys := flag.Int("keys", 10000, "key space")
	op := flag.String("op", "put", "put, get-linearizable or get-serializable")
	prefix := flag.String("prefix", "bench/", "key prefix")
	flag.Parse()
	if *op != "put" && *op != "get-linearizable" && *op != "get-serializable" {
		fail("etcdload: unknown -op %q", *op)
	}
	eps := strings.Split(*endpoints, ",")
	if *conns <= 0 || *conns > *clients {
		*conns = *clients
	}
	shared := make([]*clientv3.Client, *conns)
	for i := range shared {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{eps[i%len(eps)]},
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			fail("etcdload: %v", err)
		}
		defer c.Close()
		shared[i] = c
	}
	cs := make([]*clientv3.Client, *clients)
	for i := range cs {
		cs[i] = shared[i%len(shared)]
	}
	value := make([]byte, *valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	key := func(i int) string { return fmt.Sprintf("%s%08d", *prefix, i) }
	ctx := context.Background()
	if *op != "put" {
		var wg sync.WaitGroup
		for ci, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := ci; k < *keys; k += len(cs) {
					if _, err := c.Put(ctx, key(k), string(value)); err != nil {
						fail("etcdload: preload: %v", err)
					}
				}
			}()
		}
		wg.Wait()
	}

	parts := make([][]time.Duration, len(cs))
	errs := make([]int, len(cs))
	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*duration)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				k := key(rng.IntN(*keys))
				var err error
				switch *op {
				case "put":
					_, err = c.Put(ctx, k, string(value))
				case "get-linearizable":
					var r *clientv3.GetResponse
					r, err = c.Get(ctx, k)
					if err == nil && len(r.Kvs) != 1 {
						err = fmt.Errorf("get %s: %d kvs", k, len(r.Kvs))
					}
				case "get-serializable":
					var r *clientv3.GetResponse
					r, err = c.Get(ctx, k, clientv3.WithSerializable())
					if err == nil && len(r.Kvs) != 1 {
						err = fmt.Errorf("get %s: %d kvs", k, len(r.Kvs))
					}
				}
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs[i]++
					continue
				}
				parts[i] = append(parts[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	var all []time.Duration
	nerr := 0
	for i, p := range parts {
		all = append(all, p...)
		nerr += errs[i]
	}
	slices.Sort(all)
	at := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(int(q*float64(len(all))), len(all)-1)]) / 1e6
	}
	rate := float64(len(all)) / elapsed.Seconds()
	fmt.Printf("%s: %d ops in %.2fs = %.0f ops/s, errors %d, latency p50 %.3f ms p99 %.3f ms p999 %.3f ms max %.3f ms\n",
		*op, len(all), elapsed.Seconds(), rate, nerr, at(0.5), at(0.99), at(0.999), at(1))
	fmt.Printf("RESULT system=etcd op=%s ops=%d errors=%d secs=%.3f ops_per_sec=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
		*op, len(all), nerr, elapsed.Seconds(), rate, at(0.5), at(0.99), at(0.999))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
