package jepsen

import "github.com/agentd/agentd/raft"

// failoverProbe watches for the first normal entry committed in a term
// after the crashed leader's.
type failoverProbe struct{}

func (f *failoverProbe) applied(e *raft.Entry) {}
