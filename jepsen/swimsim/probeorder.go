package swimsim

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Probe order (checker 10, probe-order): SWIM's round-robin bound
// (§4.3). A member probes the members it holds live in rounds, each over
// a fresh shuffle of its table (swim nextProbeTarget), so with N others
// live in its table a round spends exactly N probe periods and holds
// each of them once. Between two probes of one member Y there are then
// at most 2N−2 probes of others (Y first in one round, last in the
// next), and as many from any instant to the next probe of Y: the exact
// bound. The check allows 2N+2 (four periods of slack, for a
// verification probe, which is out of turn, or a suspicion left over
// from the loss before the window). It counts the prober's own probe
// periods, not time, so an awareness score that stretches the interval
// changes nothing.
//
// The window is the quiet phase of a pair cut (paircut.go): from
// half-way through the lead-in (as quietSuspicions: no accusation begins
// then) to the end of the cut, at zero loss, with no fault, join or
// leave, in a converged pool. Probes are read off the wire: a datagram a
// member sends from Tick holding a ping (alone or as a compound part) is
// its probe (the relays' pings are sent on input, the stream fallback is
// a stream). Y is judged if it ran over the whole window and the prober
// held it live at the window's start and recorded no event taking it out
// of the live set within. Windows shorter than 2N+3 probe periods judge
// nothing (large pools: N ≥ about 60 on LAN).
//
// A core whose probe order was never reset (each round held every member
// once more than the last, swim/mutants 060) or that drew targets at
// random with replacement left members unprobed for far longer than two
// rounds in almost every small pool, yet passed every other checker: the
// pool still detects crashes within checker 1's bound in expectation.

// Probe is one probe a member started, as seen on the wire.
type Probe struct {
	At             time.Duration
	Prober, Target string
}

// ProbeWindow is a quiet window over which the probe order is judged.
type ProbeWindow struct {
	Interval
	// N is, per prober, the most members besides itself it held live
	// (alive or suspect) at the window's start, middle or end: the
	// probe periods of one round.
	N map[string]int
}

// sample raises N to each running member's live count now.
func (w *ProbeWindow) sample(s *sim) {
	for _, m := range s.up() {
		w.N[m.name] = max(w.N[m.name], m.node.NumAlive()-1)
	}
}

// probeSlack is the periods allowed beyond the exact bound 2N−2.
const probeSlack = 4

// maxProbeGap is the most probes of others a prober holding n others
// live may start in a row, with slack.
func maxProbeGap(n int) int { return 2*n - 2 + probeSlack }

// checkProbeOrder (checker 10) judges each probe window.
func checkProbeOrder(h *History, tl map[pair][]Record) []Violation {
	if len(h.ProbeWindows) == 0 {
		return nil
	}
	var out []Violation
	for _, w := range h.ProbeWindows {
		seq := map[string][]Probe{}
		for _, p := range h.Probes {
			if p.At >= w.Start && p.At <= w.End {
				seq[p.Prober] = append(seq[p.Prober], p)
			}
		}
		for _, x := range h.Members {
			n, ok := w.N[x]
			if !ok || !h.ranOver(x, w.Interval) {
				continue
			}
			limit := maxProbeGap(n)
			ps := seq[x]
			for _, y := range h.Members {
				if y == x || !h.ranOver(y, w.Interval) || !heldLiveOver(tl[pair{x, y}], w.Interval) {
					continue
				}
				gap, worst, worstEnd := 0, 0, w.End
				for _, p := range ps {
					if p.Target == y {
						gap = 0
						continue
					}
					if gap++; gap > worst {
						worst, worstEnd = gap, p.At
					}
				}
				if worst > limit {
					out = append(out, Violation{CheckProbeOrder, worstEnd, fmt.Sprintf(
						"%s started %d probes in a row without probing %s (by %v), holding %d others live over the quiet window [%v, %v]: round-robin allows %d (2N−2), checked at %d",
						x, worst, y, worstEnd, n, w.Start, w.End, 2*n-2, limit)})
					break // one per prober
				}
			}
		}
	}
	return out
}

// ranOver reports whether name ran over the whole of iv.
func (h *History) ranOver(name string, iv Interval) bool {
	return h.startedAt(name) <= iv.Start && h.crashedAt(name) > iv.End
}

// heldLiveOver reports whether the record stream rs holds its subject
// live at iv.Start and takes it out of the live set nowhere within iv.
func heldLiveOver(rs []Record, iv Interval) bool {
	if !liveAt(rs, iv.Start) {
		return false
	}
	for _, r := range rs {
		if r.At > iv.Start && r.At <= iv.End && !recordLive(r.Type, true) {
			return false
		}
	}
	return true
}

// Wire sniffing. The simulator reads a few fields of swim's wire format
// (swim/codec.go: [type][version][body], strings and compound parts
// length-prefixed by a uvarint); it never needs more than the message
// type, a ping's target and a push-pull's flags.
const (
	wirePing     = 1
	wireCompound = 8
	wirePushPull = 9
)

// pingTarget returns the target of the ping in datagram b, alone or as a
// compound part.
func pingTarget(b []byte) (string, bool) {
	if len(b) < 2 {
		return "", false
	}
	switch b[0] {
	case wirePing:
		return pingBodyTarget(b[2:])
	case wireCompound:
		r := b[2:]
		count, ok := uvarint(&r)
		for ; ok && count > 0; count-- {
			var part []byte
			if part, ok = lengthPrefixed(&r); ok && len(part) >= 2 && part[0] == wirePing {
				return pingBodyTarget(part[2:])
			}
		}
	}
	return "", false
}

func pingBodyTarget(r []byte) (string, bool) {
	if _, ok := uvarint(&r); !ok { // seq
		return "", false
	}
	t, ok := lengthPrefixed(&r)
	return string(t), ok
}

// pushPullFlags reads a push-pull message's join and response flags.
func pushPullFlags(b []byte) (join, response, ok bool) {
	if len(b) < 3 || b[0] != wirePushPull {
		return false, false, false
	}
	return b[2]&1 != 0, b[2]&2 != 0, true
}

func uvarint(r *[]byte) (uint64, bool) {
	v, n := binary.Uvarint(*r)
	if n <= 0 {
		return 0, false
	}
	*r = (*r)[n:]
	return v, true
}

func lengthPrefixed(r *[]byte) ([]byte, bool) {
	l, ok := uvarint(r)
	if !ok || l > uint64(len(*r)) {
		return nil, false
	}
	b := (*r)[:l]
	*r = (*r)[l:]
	return b, true
}
