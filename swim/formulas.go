package swim

import (
	"math"
	"time"
)

// suspicionTimeout is the minimum suspicion timeout for a cluster of n
// members: mult × max(1, log10(n)) × interval (memberlist util.go). The
// log grows the timeout slowly so a suspicion has time to reach everyone.
func suspicionTimeout(mult, n int, interval time.Duration) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	// Millisecond resolution, as memberlist, avoids float noise in tests.
	return time.Duration(mult) * time.Duration(scale*1000) * interval / 1000
}

// retransmitLimit is how many times one update is piggybacked:
// mult × ⌈log10(n+1)⌉ (memberlist util.go; SWIM's λ·log n).
func retransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

// suspicionConfirmations is Lifeguard's k: how many independent
// confirmations shrink a suspicion to its minimum. It is SuspicionMult−2,
// or 0 when the cluster is too small to ever supply them (n−2 < k).
func suspicionConfirmations(mult, n int) int {
	k := mult - 2
	if n-2 < k || k < 0 {
		return 0
	}
	return k
}

// suspicionDuration is the total suspicion timeout after c confirmations
// (Lifeguard §4.2, memberlist suspicion.go):
//
//	max − (log(c+1)/log(k+1))·(max−min), never below min.
//
// With k == 0 there is nothing to wait for and the timeout is min.
func suspicionDuration(c, k int, min, max time.Duration) time.Duration {
	if k < 1 {
		return min
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(k)+1)
	raw := max.Seconds() - frac*(max.Seconds()-min.Seconds())
	d := time.Duration(math.Floor(1000*raw)) * time.Millisecond
	if d < min {
		return min
	}
	return d
}

// pushPullScale stretches the push-pull interval beyond 32 members so the
// total full-sync load stays flat: interval × (⌈log2(n) − log2(32)⌉ + 1)
// (memberlist util.go).
func pushPullScale(interval time.Duration, n int) time.Duration {
	const threshold = 32
	if n <= threshold {
		return interval
	}
	mult := math.Ceil(math.Log2(float64(n))-math.Log2(threshold)) + 1
	return time.Duration(mult) * interval
}
