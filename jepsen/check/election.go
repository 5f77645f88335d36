package check

import (
	"slices"

	"github.com/agentd/agentd/raft"
)

// Election safety, checked two ways. The paper's property (Figure 3) is
// at most one leader per term; two leaders are only seen when a second
// election in the same term happens to succeed. The rule it rests on
// (§5.2) is checked directly: a candidate wins a term with the votes of
// a majority of its configuration's voters for that term, its own
// included, and a voter votes at most once per term. So a leader is also
// judged by the grants sent to it, as they leave the voters (Sending): a
// granted MsgVoteResp of the leader's term, from a voter of its
// configuration. A leader that counted a reply of another term, a
// rejection, a non-voter or too few voters is caught at once, even when
// the voter it miscounted gave its real vote to a candidate that did not
// win (then no second leader ever collides with it).

// termCandidate keys the grants of one term to one candidate.
type termCandidate struct {
	term      raft.Term
	candidate raft.NodeID
}

// granted records that voter sent a granted MsgVoteResp of term to
// candidate.
func (c *Cluster) granted(voter, candidate raft.NodeID, term raft.Term) {
	k := termCandidate{term, candidate}
	if !slices.Contains(c.grants[k], voter) {
		c.grants[k] = append(c.grants[k], voter)
	}
}

// BecameLeader records that id leads term, with voters the voters of its
// configuration then (the one it counted votes in).
func (c *Cluster) BecameLeader(id raft.NodeID, term raft.Term, voters []raft.NodeID) {
	if other, ok := c.leaders[term]; ok && other != id {
		c.Fail(ElectionSafety, "term %d has two leaders: %s and %s", term, other, id)
		return
	}
	if _, ok := c.leaders[term]; ok {
		return // seen already (a role report repeated)
	}
	c.leaders[term] = id
	var backers []raft.NodeID
	for _, v := range voters {
		if v == id || slices.Contains(c.grants[termCandidate{term, id}], v) {
			backers = append(backers, v)
		}
	}
	if len(backers) <= len(voters)/2 {
		c.Fail(ElectionSafety, "%s leads term %d with votes for that term from %v only, not a majority of its voters %v (§5.2)", id, term, backers, voters)
	}
	// Grants of this term are judged; a second leader of it fails above.
	for _, v := range voters {
		delete(c.grants, termCandidate{term, v})
	}
}
