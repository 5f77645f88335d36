package jepsen

import (
	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/raft"
)

// The one-change-at-a-time checker (check.ConfigEntries) follows the
// configuration entries of every durable log: those of each write
// (node.go, TracePersist), and the whole WAL's after a restart or a
// snapshot install.

// confEntries lists the indexes of the configuration entries in n's WAL
// (for check.ConfigEntries after a restart or a snapshot install).
func (n *node) confEntries() []raft.Index {
	first, last := n.log.FirstIndex(), n.log.LastIndex()
	if first > last {
		return nil
	}
	ents, err := n.log.Entries(first, last+1, 1<<62)
	if err != nil {
		n.c.check.Fail("internal-error", "%s: read log [%d,%d]: %v", n.id, first, last, err)
		return nil
	}
	return confIndexes(ents)
}

func confIndexes(ents []raft.Entry) []raft.Index {
	var idx []raft.Index
	for i := range ents {
		if ents[i].Type == raft.EntryConfig {
			idx = append(idx, ents[i].Index)
		}
	}
	return idx
}

// checkConfigTerms feeds check.ConfigAppended with each configuration
// entry among ents, just written to n's WAL, and the first index of its
// term in that log (0 once the walk back reaches the snapshot).
func (n *node) checkConfigTerms(ents []raft.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Type != raft.EntryConfig {
			continue
		}
		start := e.Index
		for start > 1 {
			t, err := n.log.Term(start - 1)
			if err != nil {
				start = 0 // compacted: in the snapshot, so committed
				break
			}
			if t != e.Term {
				break
			}
			start--
		}
		n.c.check.ConfigAppended(n.id, e.Index, e.Term, start)
	}
}

// checkConfigMatchesLog compares the core's configuration with the one
// its log names: the latest configuration entry, or the snapshot's
// configuration if no entry follows the snapshot (§4.1: a server uses the
// latest configuration in its log, committed or not, so when a conflicting
// append truncates a configuration entry the server must fall back to the
// one before). The core's log is only visible through the WAL, so the
// comparison waits for a moment when both are the same log: the WAL's last
// index is the core's and its entry there is of the core's current term
// (a later truncation needs a leader of a later term). Until then the
// check stays due. Costly (a walk back through the log), so it runs only
// after writes that could move the configuration (node.confCheckDue), and
// once at start (started: the core was just built from this disk, so its
// log is the WAL's whatever the terms).
func (n *node) checkConfigMatchesLog(started bool) {
	if n.h == nil || n.h.Stopped() {
		return
	}
	st := n.h.Status()
	last := n.log.LastIndex()
	if st.LastIndex != last {
		return
	}
	if t, err := n.log.Term(last); !started && (err != nil || t != st.HardState.Term) {
		return
	}
	n.confCheckDue = false
	want, at, ok := n.logConfiguration()
	if !ok {
		return
	}
	if !sameServers(want, st.Configuration) {
		n.c.check.Fail(check.ConfigMatchesLog, "%s: core configuration %v, but its log's latest (index %d, last %d) is %v",
			n.id, st.Configuration.Servers, at, last, want.Servers)
	}
}

// logConfiguration returns the latest configuration in n's WAL and the
// index that carried it (walking back from the end in chunks), or the
// snapshot's configuration. ok is false if the log names none (or could
// not be read: the durability checkers report that).
func (n *node) logConfiguration() (raft.Configuration, raft.Index, bool) {
	const chunk = 64
	first, hi := n.log.FirstIndex(), n.log.LastIndex()+1
	for hi > first {
		lo := first
		if hi-first > chunk {
			lo = hi - chunk
		}
		ents, err := n.log.Entries(lo, hi, 1<<62)
		if err != nil || len(ents) != int(hi-lo) {
			return raft.Configuration{}, 0, false
		}
		for i := len(ents) - 1; i >= 0; i-- {
			if ents[i].Type == raft.EntryConfig {
				conf, err := raft.DecodeConfiguration(ents[i].Data)
				if err != nil {
					return raft.Configuration{}, 0, false
				}
				return conf, ents[i].Index, true
			}
		}
		hi = lo
	}
	snap := n.log.Snapshot()
	if snap.IsEmpty() {
		return raft.Configuration{}, 0, false
	}
	return snap.Configuration, snap.ConfigIndex, true
}

// sameServers compares two configurations by member IDs and suffrage.
func sameServers(a, b raft.Configuration) bool {
	if len(a.Servers) != len(b.Servers) {
		return false
	}
	in := make(map[raft.NodeID]raft.Suffrage, len(a.Servers))
	for _, s := range a.Servers {
		in[s.ID] = s.Suffrage
	}
	for _, s := range b.Servers {
		if suf, ok := in[s.ID]; !ok || suf != s.Suffrage {
			return false
		}
	}
	return true
}
