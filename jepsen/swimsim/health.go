package swimsim

import "time"

// Healthy (checker 2's word, from the issue): over a window, a member is
// not crashed, paused or starved, and has at most 10% datagram loss to at
// least K+1 members. Partitions count as total loss on the links they
// cut; the network's loss applies to every link. In a pool of K+1 or
// fewer running members "K+1" means all the others.

// maxHealthyLossPPM is the loss a healthy member tolerates: 10%.
const maxHealthyLossPPM = 100_000

// healthy reports whether name was healthy over [from, to].
func (h *History) healthy(name string, from, to time.Duration) bool {
	if from < 0 {
		from = 0
	}
	for _, f := range h.Faults {
		if f.Member == name && f.overlaps(from, to) {
			return false
		}
	}
	if h.crashedAt(name) <= to {
		return false
	}
	for _, l := range h.Loss {
		if l.LossPPM > maxHealthyLossPPM && l.overlaps(from, to) {
			return false
		}
	}
	var up []string
	need := h.K + 1
	for i, p := range h.Partitions {
		if !p.overlaps(from, to) {
			continue
		}
		if up == nil {
			up = h.upOver(from, to)
		}
		reach := 0
		for _, o := range up {
			if o != name && !h.separates(i, name, o) {
				reach++
			}
		}
		if reach < min(need, len(up)-1) {
			return false
		}
	}
	return true
}

// upOver lists the members started by `to` and not crashed by it.
func (h *History) upOver(from, to time.Duration) []string {
	var out []string
	for _, m := range h.Members {
		if h.startedAt(m) <= to && h.crashedAt(m) > to {
			out = append(out, m)
		}
	}
	return out
}

// startedAt is the time of the member's join update (0 if none is logged).
func (h *History) startedAt(name string) time.Duration { return h.lookup().started[name] }

// cutOff reports whether accuser could not judge subject fairly during
// [from, to]: it was paused or crashed, a partition separated the two, or
// loss exceeded 10%.
func (h *History) cutOff(accuser, subject string, from, to time.Duration) bool {
	for _, f := range h.Faults {
		if f.Member == accuser && f.Kind != FaultStarve && f.overlaps(from, to) {
			return true
		}
	}
	for _, l := range h.Loss {
		if l.LossPPM > maxHealthyLossPPM && l.overlaps(from, to) {
			return true
		}
	}
	return !h.connected(accuser, subject, from, to)
}

// connected reports whether no partition cut a and b apart during
// [from, to].
func (h *History) connected(a, b string, from, to time.Duration) bool {
	for i, p := range h.Partitions {
		if p.overlaps(from, to) && h.separates(i, a, b) {
			return false
		}
	}
	return true
}

// detectDeadline is when observer must have declared a member that
// crashed at tc dead (checker 1): DetectBound after the crash (or after
// the observer's start, for one that joined later: it cannot have probed
// the member before; seed 959, a late joiner 78 s after the crash), pushed
// back to DetectBound after the end of every spell in which the observer
// was unhealthy (paused, starved, any partition, loss over 10%) that
// begins before the deadline it would otherwise have.
func (h *History) detectDeadline(observer string, tc time.Duration) time.Duration {
	var spells []Interval
	for _, f := range h.Faults {
		if f.Member == observer && f.Kind != FaultCrash {
			spells = append(spells, f.Interval)
		}
	}
	for _, p := range h.Partitions { // a partition upsets both sides
		spells = append(spells, p.Interval)
	}
	for _, l := range h.Loss {
		if l.LossPPM > maxHealthyLossPPM {
			spells = append(spells, l.Interval)
		}
	}
	base := max(tc, h.startedAt(observer))
	for changed := true; changed; {
		changed = false
		for _, s := range spells {
			if s.Start <= base+h.DetectBound && s.End > base {
				base, changed = s.End, true
			}
		}
	}
	if base == Forever {
		return Forever
	}
	return base + h.DetectBound
}
