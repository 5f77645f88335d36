package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The timer heap: set adds an entry or only ever brings it earlier,
// remove drops it; the earliest entry is first.
func TestParkTimersHeap(t *testing.T) {
	t0 := time.Now().Add(time.Hour) // never due during the test
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	conns := make([]*parkedConn, 4)
	for i := range conns {
		conns[i] = &parkedConn{slot: -1}
	}
	tm := newParkTimers()
	t.Cleanup(func() { tm.timer.Stop() })
	for _, tc := range []struct {
		name  string
		op    func(tm *parkTimers)
		first int          // index of the earliest conn; -1: empty
		at    map[int]int  // conn -> its entry's second
		out   map[int]bool // conns without an entry
	}{
		{"set adds", func(tm *parkTimers) { tm.set(conns[0], at(10)); tm.set(conns[1], at(5)) },
			1, map[int]int{0: 10, 1: 5}, map[int]bool{2: true}},
		{"set later leaves the entry", func(tm *parkTimers) { tm.set(conns[1], at(50)) },
			1, map[int]int{1: 5}, nil},
		{"set earlier moves it", func(tm *parkTimers) { tm.set(conns[0], at(1)) },
			0, map[int]int{0: 1, 1: 5}, nil},
		{"set adds a third", func(tm *parkTimers) { tm.set(conns[2], at(3)) },
			0, map[int]int{0: 1, 1: 5, 2: 3}, nil},
		{"remove", func(tm *parkTimers) { tm.remove(conns[0]); tm.remove(conns[3]) },
			2, map[int]int{1: 5, 2: 3}, map[int]bool{0: true, 3: true}},
		{"remove all", func(tm *parkTimers) { tm.remove(conns[1]); tm.remove(conns[2]) },
			-1, nil, map[int]bool{0: true, 1: true, 2: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.op(tm)
			if tc.first < 0 {
				require.Empty(t, tm.h)
			} else {
				require.Same(t, conns[tc.first], tm.h[0])
			}
			for i, s := range tc.at {
				require.Equal(t, at(s).Sub(parkEpoch), conns[i].at, "conn %d", i)
				require.Same(t, conns[i], tm.h[conns[i].slot])
			}
			for i := range tc.out {
				require.Equal(t, -1, conns[i].slot, "conn %d", i)
			}
		})
	}
}
