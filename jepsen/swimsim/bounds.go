package swimsim

import (
	"math"
	"time"

	"github.com/agentd/agentd/swim"
)

// This file derives the checkers' time bounds from the swim.Config
// formulas, for a pool of at most n members.
//
// Detection bound (checker 1). A healthy observer o learns that a crashed
// member c is dead by itself, even if no one else tells it:
//
//  1. o probes members round-robin over a fresh shuffle per round, so c
//     is probed at most 2(n−1) probe periods after the crash (c just
//     probed at the start of a round, then last in the next one), and
//     that probe fails one period later: (2(n−1)+1) periods;
//  2. a period is ProbeInterval × (awareness score + 1), at most
//     ProbeInterval × AwarenessMaxMultiplier (Lifeguard §4.1; 1 without
//     Lifeguard);
//  3. the failed probe starts (or confirms) a suspicion that expires at
//     most SuspicionMaxTimeoutMult × min after it started, where
//     min = SuspicionMult × max(1, log10 n) × ProbeInterval (Lifeguard
//     §4.2; the timeout is min without Lifeguard). An earlier suspicion,
//     heard by gossip, only ends earlier;
//  4. a suspicion that ran out on hearsay alone is verified by one more
//     probe before the death (swim expireSuspicions): it waits for the
//     next probe period and lasts one: 2 more periods (none without
//     Lifeguard).
//
// So every healthy observer declares c dead within
//
//	DetectBound = (2(n−1)+3) × AwarenessMax × ProbeInterval + SuspicionMaxTimeoutMult × min
//
// of the crash (or of the end of its own last unhealthy spell). It is a
// worst case: dissemination by the other members makes the typical figure
// (printed as detection p50/p99) far smaller. LAN, n = 5: 88 s + 24 s.
// The bound starts at the crash, or at the observer's start if it joined
// later (History.detectDeadline).
//
// Accusation window (checker 2). A false accusation lives from a failed
// probe to its expiry: at most one probe period at full awareness, the
// longest suspicion, and the verification probe's two periods. Health is
// judged over that window before each death declaration.

// minSuspicion is swim's suspicionTimeout (formulas.go, unexported there).
func minSuspicion(cfg swim.Config, n int) time.Duration {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	return time.Duration(cfg.SuspicionMult) * time.Duration(scale*1000) * cfg.ProbeInterval / 1000
}

// pushPullPeriod is swim's pushPullScale (formulas.go): the push-pull
// interval stretched beyond 32 members.
func pushPullPeriod(cfg swim.Config, n int) time.Duration {
	if n <= 32 {
		return cfg.PushPullInterval
	}
	return time.Duration(math.Ceil(math.Log2(float64(n))-5)+1) * cfg.PushPullInterval
}

// maxSuspicion is the longest a suspicion can run.
func maxSuspicion(cfg swim.Config, n int) time.Duration {
	if cfg.DisableLifeguard {
		return minSuspicion(cfg, n)
	}
	return time.Duration(cfg.SuspicionMaxTimeoutMult) * minSuspicion(cfg, n)
}

// maxProbePeriod is one probe period at the highest awareness score.
func maxProbePeriod(cfg swim.Config) time.Duration {
	if cfg.DisableLifeguard {
		return cfg.ProbeInterval
	}
	return time.Duration(cfg.AwarenessMaxMultiplier) * cfg.ProbeInterval
}

// verifyPeriods is the verification probe's wait and length (point 4);
// plain SWIM has none.
func verifyPeriods(cfg swim.Config) int {
	if cfg.DisableLifeguard {
		return 0
	}
	return 2
}

// DetectBound is checker 1's bound for a pool of at most n members.
func DetectBound(cfg swim.Config, n int) time.Duration {
	periods := time.Duration(2*(n-1) + 1 + verifyPeriods(cfg))
	return periods*maxProbePeriod(cfg) + maxSuspicion(cfg, n)
}

// AccuseWindow is checker 2's health window for a pool of at most n.
func AccuseWindow(cfg swim.Config, n int) time.Duration {
	return time.Duration(1+verifyPeriods(cfg))*maxProbePeriod(cfg) + maxSuspicion(cfg, n)
}
