package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// member is /v1/agent/members' entry.
type member struct {
	Name   string
	Addr   string
	Port   uint16
	Tags   map[string]string
	Status int
}

// memberStatus names serf's status integers.
func memberStatus(s int) string {
	switch s {
	case 0:
		return "none"
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	}
	return "unknown"
}

func cmdMembers(env *env, args []string) int {
	fs, hf := env.flags("members")
	wan := fs.Bool("wan", false, "list WAN members")
	detailed := fs.Bool("detailed", false, "list every member's tags instead of the summary columns")
	status := fs.String("status", ".*", "list only members whose status matches this regular expression")
	segment := fs.String("segment", "", "list members of this network segment (Enterprise; _all: every one)")
	filter := fs.String("filter", "", "bexpr filter on the members (as /v1/agent/members?filter=)")
	if fs.Parse(args) != nil {
		return 1
	}
	statusRe, err := regexp.Compile(*status)
	if err != nil {
		return env.fail("Failed to compile status regexp: %v", err)
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	q := url.Values{}
	if *wan {
		q.Set("wan", "1")
	}
	if *segment != "" {
		q.Set("segment", *segment)
	}
	if *filter != "" {
		q.Set("filter", *filter)
	}
	var ms []member
	if err := c.getJSON("/v1/agent/members", q, &ms); err != nil {
		return env.fail("Error retrieving members: %v", err)
	}
	ms = slices.DeleteFunc(ms, func(m member) bool { return !statusRe.MatchString(memberStatus(m.Status)) })
	if len(ms) == 0 {
		return 2 // Consul: no member matched
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 2, 2, ' ', 0)
	if *detailed {
		fmt.Fprintln(tw, "Node\tAddress\tStatus\tTags")
		for _, m := range ms {
			tags := make([]string, 0, len(m.Tags))
			for k, v := range m.Tags {
				tags = append(tags, k+"="+v)
			}
			sort.Strings(tags)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))),
				memberStatus(m.Status), strings.Join(tags, ","))
		}
		tw.Flush()
		return 0
	}
	// Consul's columns since admin partitions (1.11): CE's partition is
	// "default".
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC\tPartition\tSegment")
	for _, m := range ms {
		typ := "client"
		if m.Tags["role"] == "consul" {
			typ = "server"
		}
		build, _, _ := strings.Cut(m.Tags["build"], ":")
		segment := m.Tags["segment"]
		if typ == "server" {
			segment = "<all>"
		}
		partition := m.Tags["ap"]
		if partition == "" {
			partition = "default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name,
			net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))), memberStatus(m.Status),
			typ, build, m.Tags["vsn"], m.Tags["dc"], partition, segment)
	}
	tw.Flush()
	return 0
}

func cmdJoin(env *env, args []string) int {
	fs, hf := env.flags("join")
	wan := fs.Bool("wan", false, "join over the WAN pool")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() == 0 {
		return env.fail("At least one address to join must be specified.")
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	joined := 0
	for _, addr := range fs.Args() {
		q := url.Values{}
		if *wan {
			q.Set("wan", "1")
		}
		if _, _, err := c.do(http.MethodPut, "/v1/agent/join/"+addr, q, nil); err != nil {
			fmt.Fprintf(env.stderr, "Error joining address '%s': %v\n", addr, err)
			continue
		}
		joined++
	}
	if joined == 0 {
		return env.fail("Failed to join any nodes.")
	}
	fmt.Fprintf(env.stdout, "Successfully joined cluster by contacting %d nodes.\n", joined)
	return 0
}

func cmdLeave(env *env, args []string) int {
	fs, hf := env.flags("leave")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	if _, _, err := c.do(http.MethodPut, "/v1/agent/leave", nil, nil); err != nil {
		return env.fail("Error leaving: %v", err)
	}
	fmt.Fprintln(env.stdout, "Graceful leave complete")
	return 0
}

func cmdForceLeave(env *env, args []string) int {
	fs, hf := env.flags("force-leave")
	prune := fs.Bool("prune", false, "remove the node from the member list entirely")
	wan := fs.Bool("wan", false, "force-leave the node from the WAN pool")
	if fs.Parse(args) != nil {
		return 1
	}
	if fs.NArg() != 1 {
		return env.fail("A single node name must be specified to force leave.")
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	q := url.Values{}
	if *prune {
		q.Set("prune", "1")
	}
	if *wan {
		q.Set("wan", "1")
	}
	if _, _, err := c.do(http.MethodPut, "/v1/agent/force-leave/"+fs.Arg(0), q, nil); err != nil {
		return env.fail("Error force leaving: %v", err)
	}
	return 0
}
