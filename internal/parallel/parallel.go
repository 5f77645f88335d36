package parallel

import (
	"sync"
	"sync/atomic"
)

// For calls f(i) exactly once for every i in [0, n), on max(workers, 1)
// goroutines, and returns when every call has returned. Calls may run in
// any order and concurrently; f must write only to its own index's state.
func For(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
