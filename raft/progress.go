package raft

// progress is the leader's view of one peer (its own entry included).
//
// Invariant: match < next. match only grows while the leader stays leader:
// it is set from the index a peer acknowledged for a request this leader sent
// in this term (pitfall 8), never from the peer's current log length.
type progress struct {
	// match is the highest index known replicated on the peer.
	match Index
	// next is the index of the next entry to send.
	next  Index
	state ProgressState
	// probeSent pauses a Probe-state peer until it answers or a heartbeat
	// response arrives (one MsgApp in flight while finding the match point).
	probeSent bool
	// pendingSnapshot is the index of the snapshot being sent (Snapshot state).
	pendingSnapshot Index
	// recentActive: the peer answered since the last CheckQuorum round.
	recentActive bool
	// inflights bounds pipelined MsgApps (Replicate state).
	inflights inflights
	// sentCommit is the highest commit index sent to the peer.
	sentCommit Index
	// readAck is the latest ReadIndex round the peer acknowledged.
	readAck uint64
	// stalledBeats counts heartbeat responses during which match did not move
	// although entries were outstanding; see stepLeader's heartbeat handling.
	stalledBeats  int
	lastBeatMatch Index
	// caughtUpTicks counts consecutive ticks a non-voter has been within
	// Config.CatchUpEntries of the leader's last index (auto-promotion).
	caughtUpTicks int
}

func newProgress(next Index, maxMsgs int, maxBytes uint64) *progress {
	return &progress{next: next, state: ProgressProbe, recentActive: true,
		inflights: inflights{size: maxMsgs, maxBytes: maxBytes}}
}

func (pr *progress) becomeProbe() {
	if pr.state == ProgressSnapshot {
		pr.next = max(pr.match+1, pr.pendingSnapshot+1)
	} else {
		pr.next = pr.match + 1
	}
	pr.state = ProgressProbe
	pr.pendingSnapshot = 0
	pr.probeSent = false
	pr.inflights.reset()
}

func (pr *progress) becomeReplicate() {
	pr.state = ProgressReplicate
	pr.next = pr.match + 1
	pr.pendingSnapshot = 0
	pr.probeSent = false
	pr.inflights.reset()
}

func (pr *progress) becomeSnapshot(i Index) {
	pr.state = ProgressSnapshot
	pr.pendingSnapshot = i
	pr.probeSent = false
	pr.inflights.reset()
}

// maybeUpdate records an acknowledgement of index n; reports whether match grew.
func (pr *progress) maybeUpdate(n Index) bool {
	updated := false
	if pr.match < n {
		pr.match = n
		pr.probeSent = false
		updated = true
	}
	pr.next = max(pr.next, n+1)
	return updated
}

// maybeDecrTo handles a rejection of the MsgApp whose previous index was
// rejected; hint is the leader's guess at the next index to try (fast
// backtracking). Reports false for a stale rejection.
func (pr *progress) maybeDecrTo(rejected, hint Index) bool {
	if pr.state == ProgressReplicate {
		if rejected <= pr.match {
			return false
		}
		pr.becomeProbe()
		pr.next = max(pr.match+1, min(rejected, hint))
		return true
	}
	if pr.next-1 != rejected {
		return false // not the probe we are waiting for
	}
	pr.next = max(pr.match+1, min(rejected, hint))
	pr.probeSent = false
	return true
}

// isPaused reports whether no MsgApp may be sent now.
func (pr *progress) isPaused() bool {
	switch pr.state {
	case ProgressProbe:
		return pr.probeSent
	case ProgressReplicate:
		return pr.inflights.full()
	default:
		return true
	}
}

// sentEntries records a MsgApp carrying entries up to last (bytes in total).
func (pr *progress) sentEntries(last Index, n int, bytes uint64) {
	switch pr.state {
	case ProgressReplicate:
		if n > 0 {
			pr.next = last + 1
			pr.inflights.add(last, bytes)
		}
	case ProgressProbe:
		pr.probeSent = true
	}
}

func (pr *progress) status() Progress {
	return Progress{Match: pr.match, Next: pr.next, State: pr.state, RecentActive: pr.recentActive}
}

// inflights is a ring buffer of the last index and byte size of each MsgApp
// in flight to one peer.
type inflights struct {
	size     int    // max messages (Config.MaxInflightMsgs)
	maxBytes uint64 // max bytes, 0 = unlimited (Config.MaxInflightBytes)
	buf      []inflight
	start    int
	count    int
	bytes    uint64
}

type inflight struct {
	index Index
	bytes uint64
}

func (in *inflights) full() bool {
	return in.count == in.size || (in.maxBytes != 0 && in.bytes >= in.maxBytes)
}

func (in *inflights) add(i Index, bytes uint64) {
	if in.count == in.size {
		panic("raft: inflights.add on a full buffer")
	}
	if in.buf == nil {
		in.buf = make([]inflight, in.size)
	}
	in.buf[(in.start+in.count)%in.size] = inflight{index: i, bytes: bytes}
	in.count++
	in.bytes += bytes
}

// freeLE frees every message whose last index is <= i.
func (in *inflights) freeLE(i Index) {
	for in.count > 0 && in.buf[in.start].index <= i {
		in.bytes -= in.buf[in.start].bytes
		in.start = (in.start + 1) % in.size
		in.count--
	}
	if in.count == 0 {
		in.start = 0
	}
}

// freeFirst frees the oldest message (a heartbeat response shows the peer is
// alive although an acknowledgement was apparently lost).
func (in *inflights) freeFirst() {
	if in.count > 0 {
		in.freeLE(in.buf[in.start].index)
	}
}

func (in *inflights) reset() {
	in.start, in.count, in.bytes = 0, 0, 0
}
