package raft

// sendSnapshot sends the latest durable snapshot to a peer whose next entry
// is compacted (§7). The driver streams the data and reports the outcome
// with ReportSnapshot.
func (n *Node) sendSnapshot(id NodeID, pr *progress) bool {
	meta := n.log.storage.Snapshot()
	if meta.IsEmpty() {
		// Compacted entries but no snapshot: a storage contract violation
		// the driver must not cause; wait rather than send nonsense.
		n.debug("no snapshot to send", "to", id)
		return false
	}
	n.send(Message{To: id, Type: MsgSnap, Snapshot: &meta})
	pr.becomeSnapshot(meta.Index)
	n.debug("sending snapshot", "to", id, "index", meta.Index)
	return true
}

// ReportSnapshot tells the leader that the snapshot stream to id finished
// (ok) or failed. On success the peer's acknowledgement (MsgAppResp at the
// snapshot index) moves match; until then we probe from the snapshot.
func (n *Node) ReportSnapshot(id NodeID, ok bool) {
	if n.role != Leader {
		return
	}
	pr := n.prs[id]
	if pr == nil || pr.state != ProgressSnapshot {
		return
	}
	if !ok {
		pr.pendingSnapshot = 0
	}
	pr.becomeProbe()
	n.needBcast = true
}

// handleSnapshot is the receiver side of InstallSnapshot (Figure 13).
func (n *Node) handleSnapshot(m *Message) {
	meta := *m.Snapshot
	switch {
	case meta.Index <= n.log.committed:
		// Stale: we already have everything it covers. Commit and applied
		// never move back.
		n.send(Message{To: m.From, Type: MsgAppResp, Index: n.log.committed})
		return
	case n.log.matchTerm(meta.Index, meta.Term):
		// Figure 13 step 6: our log holds the snapshot's last entry, so it
		// matches the leader's up to there; keep the suffix and apply it
		// normally.
		n.followerCommit(meta.Index)
		n.send(Message{To: m.From, Type: MsgAppResp, Index: meta.Index})
		return
	}
	n.debug("restoring snapshot", "index", meta.Index, "term", meta.Term)
	n.log.restore(meta)
	n.conf.reset(meta.ConfigIndex, meta.Configuration)
	n.configChanged()
	// The acknowledgement waits for the snapshot to be durable (send puts
	// MsgAppResp after persist).
	n.send(Message{To: m.From, Type: MsgAppResp, Index: meta.Index})
}
