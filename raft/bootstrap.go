package raft

import "fmt"

// BootstrapEntries returns the initial state every server of a new cluster
// writes before its first start: the configuration as entry 1 of term 1,
// already committed. All initial servers must use the same conf, so the
// entry is identical everywhere and committing it needs no vote.
//
// It panics on an invalid configuration (no voter, empty or duplicate IDs):
// bootstrap input is the operator's, validated by the caller.
func BootstrapEntries(conf Configuration) (HardState, []Entry) {
	servers := sortServers(conf.Servers)
	voters := 0
	for i, s := range servers {
		if s.ID == None || (i > 0 && servers[i-1].ID == s.ID) {
			panic(fmt.Sprintf("raft: bootstrap: bad or duplicate server id %q", s.ID))
		}
		if s.Suffrage == Voter {
			voters++
		} else if s.Suffrage != Nonvoter {
			panic(fmt.Sprintf("raft: bootstrap: server %q has suffrage %d", s.ID, s.Suffrage))
		}
	}
	if voters == 0 {
		panic("raft: bootstrap: configuration has no voter")
	}
	e := Entry{Term: 1, Index: 1, Type: EntryConfig, Data: EncodeConfiguration(Configuration{Servers: servers})}
	return HardState{Term: 1, Commit: 1}, []Entry{e}
}
