package driver

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFutureEarlySettle: an early future (Driver.Propose) may be resolved
// by the apply worker and by the handler; the first resolve stands and the
// second is dropped. A plain future resolved twice is a broken invariant.
func TestFutureEarlySettle(t *testing.T) {
	errLate := errors.New("late")
	tests := []struct {
		name        string
		early       bool
		wantOutcome Outcome
		wantPanic   bool
	}{
		{name: "early: worker first, handler second is dropped", early: true, wantOutcome: Committed},
		{name: "plain: second resolve panics", early: false, wantPanic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFuture()
			f.early = tt.early
			require.True(t, f.tryResolve(Committed, "result", nil))
			if tt.wantPanic {
				require.Panics(t, func() { f.settle(Unknown, nil, errLate) })
				return
			}
			f.settle(Unknown, nil, errLate)
			<-f.Done()
			require.Equal(t, tt.wantOutcome, f.Outcome())
			require.Equal(t, "result", f.Result())
			require.NoError(t, f.Err())
		})
	}
}

// TestFutureEarlyRace: the apply worker and the handler (Stop) resolve
// the same early future at once; exactly one wins and the accessors agree
// with it (run with -race).
func TestFutureEarlyRace(t *testing.T) {
	for range 200 {
		f := newFuture()
		f.early = true
		var wg sync.WaitGroup
		won := make([]bool, 2)
		wg.Go(func() { won[0] = f.tryResolve(Committed, 7, nil) })
		wg.Go(func() { won[1] = f.tryResolve(Unknown, nil, ErrStopped) })
		wg.Wait()
		<-f.Done()
		require.NotEqual(t, won[0], won[1], "exactly one resolve wins")
		if won[0] {
			require.Equal(t, Committed, f.Outcome())
			require.Equal(t, 7, f.Result())
		} else {
			require.Equal(t, Unknown, f.Outcome())
			require.ErrorIs(t, f.Err(), ErrStopped)
		}
	}
}
