package raft

import "slices"

// quorum returns the majority size for n voters.
func quorum(n int) int { return n/2 + 1 }

// quorumMatch returns the highest index replicated on a majority of voters
// (§5.3): the quorum-th largest match. Voters without progress count as 0.
func (n *Node) quorumMatch() Index {
	voters := n.conf.voters
	if len(voters) == 0 {
		return 0
	}
	var stack [9]Index
	matches := stack[:0]
	for _, id := range voters {
		var m Index
		if pr := n.prs[id]; pr != nil {
			m = pr.match
		}
		matches = append(matches, m)
	}
	slices.Sort(matches)
	return matches[len(matches)-quorum(len(matches))]
}

// voteResult tallies granted/rejected votes among the current voters.
type voteResult uint8

const (
	votePending voteResult = iota
	voteWon
	voteLost
)

func (n *Node) tallyVotes() voteResult {
	granted, rejected := 0, 0
	for _, id := range n.conf.voters {
		v, ok := n.votes[id]
		switch {
		case !ok:
		case v:
			granted++
		default:
			rejected++
		}
	}
	q := quorum(len(n.conf.voters))
	switch {
	case granted >= q:
		return voteWon
	case rejected > len(n.conf.voters)-q:
		return voteLost
	}
	return votePending
}

// readAcked reports whether a quorum of voters acknowledged ReadIndex round id.
func (n *Node) readAcked(id uint64) bool {
	acks := 0
	for _, v := range n.conf.voters {
		if pr := n.prs[v]; pr != nil && pr.readAck >= id {
			acks++
		}
	}
	return acks >= quorum(len(n.conf.voters))
}

// quorumActive reports whether a quorum of voters was recently active
// (CheckQuorum). The leader counts as active.
func (n *Node) quorumActive() bool {
	active := 0
	for _, v := range n.conf.voters {
		if v == n.id {
			active++
			continue
		}
		if pr := n.prs[v]; pr != nil && pr.recentActive {
			active++
		}
	}
	return active >= quorum(len(n.conf.voters))
}
