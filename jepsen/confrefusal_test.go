package jepsen

import (
	"testing"

	"github.com/agentd/agentd/raft"
)

func TestConfChangeValid(t *testing.T) {
	conf := raft.Configuration{Servers: []raft.Server{
		{ID: "n1", Suffrage: raft.Voter},
		{ID: "n2", Suffrage: raft.Voter},
		{ID: "n4", Suffrage: raft.Nonvoter},
	}}
	lone := raft.Configuration{Servers: []raft.Server{{ID: "n1", Suffrage: raft.Voter}, {ID: "n4", Suffrage: raft.Nonvoter}}}
	cases := []struct {
		name string
		conf raft.Configuration
		cc   raft.ConfChange
		want bool
	}{
		{"add fresh", conf, raft.ConfChange{Type: raft.ConfAddNonvoter, Server: raft.Server{ID: "n5"}}, true},
		{"add member", conf, raft.ConfChange{Type: raft.ConfAddNonvoter, Server: raft.Server{ID: "n2"}}, false},
		{"promote non-voter", conf, raft.ConfChange{Type: raft.ConfPromote, Server: raft.Server{ID: "n4"}}, true},
		{"promote voter", conf, raft.ConfChange{Type: raft.ConfPromote, Server: raft.Server{ID: "n1"}}, false},
		{"promote stranger", conf, raft.ConfChange{Type: raft.ConfPromote, Server: raft.Server{ID: "n9"}}, false},
		{"remove first voter", conf, raft.ConfChange{Type: raft.ConfRemove, Server: raft.Server{ID: "n1"}}, true},
		{"remove non-voter", conf, raft.ConfChange{Type: raft.ConfRemove, Server: raft.Server{ID: "n4"}}, true},
		{"remove stranger", conf, raft.ConfChange{Type: raft.ConfRemove, Server: raft.Server{ID: "n9"}}, false},
		{"remove last voter", lone, raft.ConfChange{Type: raft.ConfRemove, Server: raft.Server{ID: "n1"}}, false},
		{"add voter", conf, raft.ConfChange{Type: raft.ConfAddVoter, Server: raft.Server{ID: "n5"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := confChangeValid(tc.conf, tc.cc); got != tc.want {
				t.Fatalf("confChangeValid = %v, want %v", got, tc.want)
			}
		})
	}
}
