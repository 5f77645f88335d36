package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// raftServer is /v1/operator/raft/configuration's entry.
type raftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	Voter           bool
	ProtocolVersion string
	LastIndex       uint64
}

func cmdOperator(env *env, args []string) int {
	if len(args) < 2 || args[0] != "raft" {
		return env.fail("Usage: agentd operator raft <list-peers|remove-peer|transfer-leader> [options]")
	}
	switch args[1] {
	case "list-peers":
		return cmdListPeers(env, args[2:])
	case "remove-peer":
		return cmdRemovePeer(env, args[2:])
	case "transfer-leader":
		return cmdTransferLeader(env, args[2:])
	}
	return env.fail("unknown operator raft subcommand %q", args[1])
}

func cmdListPeers(env *env, args []string) int {
	fs, hf := env.flags("operator raft list-peers")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	var conf struct {
		Servers []raftServer
		Index   uint64
	}
	if err := c.getJSON("/v1/operator/raft/configuration", nil, &conf); err != nil {
		return env.fail("Error getting peers: %v", err)
	}
	// Consul 1.17+'s table: each server's last log index, and how far
	// it trails the leader's ("-" for the leader; never below 0 here).
	var leaderIndex uint64
	for _, s := range conf.Servers {
		if s.Leader {
			leaderIndex = s.LastIndex
		}
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol\tCommit Index\tTrails Leader By")
	for _, s := range conf.Servers {
		state, trails := "follower", "-"
		if s.Leader {
			state = "leader"
		} else {
			n := leaderIndex - min(leaderIndex, s.LastIndex)
			trails = fmt.Sprintf("%d commits", n)
			if n == 1 {
				trails = "1 commit"
			}
		}
		proto := s.ProtocolVersion
		if proto == "" {
			proto = "<=1"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%d\t%s\n", s.Node, s.ID, s.Address, state, s.Voter, proto, s.LastIndex, trails)
	}
	tw.Flush()
	return 0
}

func cmdRemovePeer(env *env, args []string) int {
	fs, hf := env.flags("operator raft remove-peer")
	addr := fs.String("address", "", "the peer's Raft address (ip:port)")
	id := fs.String("id", "", "the peer's Raft ID")
	if fs.Parse(args) != nil {
		return 1
	}
	if (*addr == "") == (*id == "") {
		return env.fail("Error! Specify exactly one of -address or -id")
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	q := url.Values{}
	if *id != "" {
		q.Set("id", *id)
	} else {
		q.Set("address", *addr)
	}
	if _, _, err := c.do(http.MethodDelete, "/v1/operator/raft/peer", q, nil); err != nil {
		return env.fail("Error removing peer: %v", err)
	}
	if *id != "" {
		fmt.Fprintf(env.stdout, "Removed peer with id %q\n", *id)
	} else {
		fmt.Fprintf(env.stdout, "Removed peer with address %q\n", *addr)
	}
	return 0
}

// cmdTransferLeader asks the leader to hand leadership to -id (or to the
// most up-to-date voter) and prints Consul's "Success".
func cmdTransferLeader(env *env, args []string) int {
	fs, hf := env.flags("operator raft transfer-leader")
	id := fs.String("id", "", "the ID of the server to transfer leadership to")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error initializing client: %v", err)
	}
	q := url.Values{}
	if *id != "" {
		q.Set("id", *id)
	}
	var out struct{ Success bool }
	body, _, err := c.do(http.MethodPost, "/v1/operator/raft/transfer-leader", q, nil)
	if err == nil {
		err = json.Unmarshal(body, &out)
	}
	if err == nil && !out.Success {
		err = fmt.Errorf("the leader reported no success")
	}
	if err != nil {
		return env.fail("Error transferring leadership: Failed to transfer leadership %v", err)
	}
	fmt.Fprintln(env.stdout, "Success")
	return 0
}

func cmdSnapshot(env *env, args []string) int {
	if len(args) < 1 {
		return env.fail("Usage: agentd snapshot <save|restore> [options] FILE")
	}
	sub := args[0]
	if sub != "save" && sub != "restore" {
		return env.fail("unknown snapshot subcommand %q", sub)
	}
	fs, hf := env.flags("snapshot " + sub)
	var appendName *string
	if sub == "save" {
		appendName = fs.String("append-filename", "", "comma-separated version, dc, node: append the agent's to FILE's name, before its extension")
	}
	if fs.Parse(args[1:]) != nil {
		return 1
	}
	if fs.NArg() != 1 {
		return env.fail("Missing FILE argument")
	}
	file := fs.Arg(0)
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	if sub == "save" && *appendName != "" {
		if file, err = appendToSnapshotName(c, file, *appendName); err != nil {
			return env.fail("Error connecting to Consul agent and fetching datacenter/version: %v", err)
		}
	}
	if sub == "save" {
		b, h, err := c.do(http.MethodGet, "/v1/snapshot", nil, nil)
		if err != nil {
			return env.fail("Error saving snapshot: %v", err)
		}
		if err := writeFileAtomic(file, b); err != nil {
			return env.fail("Error writing snapshot file: %v", err)
		}
		fmt.Fprintf(env.stdout, "Saved and verified snapshot to index %s\n", h.Get("X-Consul-Index"))
		return 0
	}
	f, err := os.Open(file)
	if err != nil {
		return env.fail("Error opening snapshot file: %v", err)
	}
	defer f.Close()
	if _, _, err := c.do(http.MethodPut, "/v1/snapshot", nil, io.Reader(f)); err != nil {
		return env.fail("Error restoring snapshot: %v", err)
	}
	fmt.Fprintln(env.stdout, "Restored snapshot")
	return 0
}

// appendToSnapshotName is `snapshot save -append-filename`: the agent's
// version, datacenter and node name (in that order, those the list
// names) joined to the file name with "-" before its extension.
func appendToSnapshotName(c *client, file, list string) (string, error) {
	var self struct {
		Config struct{ Version, Datacenter, NodeName string }
	}
	if err := c.getJSON("/v1/agent/self", nil, &self); err != nil {
		return "", err
	}
	want := strings.Split(list, ",")
	ext := filepath.Ext(file)
	name := strings.TrimSuffix(file, ext)
	for _, part := range []struct{ key, v string }{
		{"version", self.Config.Version}, {"dc", self.Config.Datacenter}, {"node", self.Config.NodeName},
	} {
		if slices.Contains(want, part.key) {
			name += "-" + part.v
		}
	}
	return name + ext, nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
