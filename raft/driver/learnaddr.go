package driver

import "github.com/agentd/agentd/raft"

// LearnAddr tells the handler where peer id is reachable, for a server
// whose (empty) log does not name it yet: a server joining a running
// cluster must answer the leader's first AppendEntries before it has the
// configuration that holds the leader's address. An address the log
// already gives is kept. It never blocks for long.
func (d *Driver) LearnAddr(id raft.NodeID, addr string) {
	d.post(func() { d.h.LearnAddr(id, addr) })
}
