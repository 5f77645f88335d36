package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// query maps -op to the read's consistency parameter.
var query = map[string]string{"get": "", "get-consistent": "?consistent", "get-stale": "?stale"}

// loadResult is what a load run counted.
type loadResult struct{ ops, errors int }

func runLoad(o options) (loadResult, error) {
	if _, ok := query[o.op]; !ok && o.op != "put" {
		return loadResult{}, fmt.Errorf("unknown -op %q", o.op)
	}
	conns := make([]*conn, o.clients)
	for i := range conns {
		conns[i] = newConn(o.addrs[i%len(o.addrs)])
		defer conns[i].close()
	}
	value := make([]byte, o.valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	key := func(i int) string { return fmt.Sprintf("%s%08d", o.prefix, i) }
	ctx := context.Background()
	if o.preload || o.op != "put" {
		if err := preload(ctx, conns, o.keys, key, value); err != nil {
			return loadResult{}, err
		}
	}

	var wg sync.WaitGroup
	parts := make([]latencies, len(conns))
	errs := make([]int, len(conns))
	errMsg := make([]error, len(conns))
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	end := measureFrom.Add(o.duration)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				k := key(rng.IntN(o.keys))
				var err error
				if o.op == "put" {
					err = c.put(ctx, k, value)
				} else {
					var code int
					code, _, err = c.do(ctx, http.MethodGet, "/v1/kv/"+k+query[o.op], nil)
					if err == nil && code != http.StatusOK {
						err = fmt.Errorf("GET %s: status %d", k, code)
					}
				}
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs[i]++
					errMsg[i] = err
					continue
				}
				parts[i] = append(parts[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	all := merge(parts)
	nerr := 0
	for i, n := range errs {
		nerr += n
		if errMsg[i] != nil {
			fmt.Printf("client %d: last error: %v\n", i, errMsg[i])
		}
	}
	report(o.op, len(all), nerr, elapsed, all)
	return loadResult{ops: len(all), errors: nerr}, nil
}

// preload writes every key once, the clients sharing the key range.
func preload(ctx context.Context, conns []*conn, n int, key func(int) string, v []byte) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(conns))
	for ci, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := ci; k < n; k += len(conns) {
				if err := c.put(ctx, key(k), v); err != nil {
					errc <- fmt.Errorf("preload: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}
