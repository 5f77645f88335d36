package swim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A small swarm: per seed, random packet loss (both kinds) for two
// minutes with one crash, then a healed network. Liveness after healing:
// every live member sees every other live one alive and the crashed one
// failed. The seed is printed on failure to reproduce.
func TestSwarmLossThenHeal(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for seed := uint64(100); seed < 100+uint64(seeds); seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		size := 3 + r.IntN(6)
		c := newCluster(t, size, seed, nil)
		c.joinAll()
		loss := 0.05 + 0.25*r.Float64()
		c.cut = func(from, to *tnode) bool { return r.Float64() < loss }
		victim := c.nodes[1+r.IntN(size-1)]
		c.run(time.Duration(r.IntN(30)) * time.Second)
		c.crash(victim)
		c.run(2 * time.Minute)
		c.cut = nil
		live := c.live()
		ok := c.runUntil(3*time.Minute, func() bool {
			return c.allSee(live, StatusAlive) && c.allSee([]*tnode{victim}, StatusFailed)
		})
		if !ok {
			t.Fatalf("seed %d (size %d, loss %.2f): no convergence after healing: %s", seed, size, loss, c.dump())
		}
	}
}
