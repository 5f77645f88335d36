package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// cmdKeyring is Consul's `keyring`: exactly one of -list, -list-primary,
// -install KEY, -use KEY, -remove KEY (with -relay-factor, and
// -local-only for the lists), applied to every member of the gossip pool
// through /v1/operator/keyring.
func cmdKeyring(env *env, args []string) int {
	fs, hf := env.flags("keyring")
	list := fs.Bool("list", false, "list the installed keys and how many members hold each")
	install := fs.String("install", "", "install a new key on every member")
	use := fs.String("use", "", "make an installed key the one that encrypts, on every member")
	remove := fs.String("remove", "", "remove a key from every member")
	listPrimary := fs.Bool("list-primary", false, "list the primary keys and how many members use each")
	relay := fs.Int("relay-factor", 0, "members that relay each answer (0-5)")
	localOnly := fs.Bool("local-only", false, "with -list or -list-primary: ask this agent only")
	if fs.Parse(args) != nil {
		return 1
	}
	if *relay < 0 || *relay > 5 {
		return env.fail("Relay factor must be in range: [0, 5]")
	}
	if *localOnly && !*list && !*listPrimary {
		return env.fail("Cannot use -local-only with other actions")
	}
	q := url.Values{}
	if *relay > 0 {
		q.Set("relay-factor", strconv.Itoa(*relay))
	}
	if *localOnly {
		q.Set("local-only", "true")
	}
	n := 0
	for _, set := range []bool{*list, *listPrimary, *install != "", *use != "", *remove != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return env.fail("Exactly one operation must be specified")
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	if *list || *listPrimary {
		if *listPrimary {
			fmt.Fprintln(env.stdout, "==> Gathering installed primary encryption keys...")
		} else {
			fmt.Fprintln(env.stdout, "==> Gathering installed encryption keys...")
		}
		body, _, err := c.do(http.MethodGet, "/v1/operator/keyring", q, nil)
		if err != nil {
			return env.fail("error: %v", err)
		}
		var rs []struct {
			Datacenter  string
			WAN         bool
			Keys        map[string]int
			PrimaryKeys map[string]int
			NumNodes    int
		}
		if err := json.Unmarshal(body, &rs); err != nil {
			return env.fail("error: %v", err)
		}
		for _, r := range rs {
			pool := "LAN"
			if r.WAN {
				pool = "WAN"
			}
			fmt.Fprintf(env.stdout, "\n%s (%s):\n", r.Datacenter, pool)
			held := r.Keys
			if *listPrimary {
				held = r.PrimaryKeys
			}
			for _, k := range slices.Sorted(maps.Keys(held)) {
				fmt.Fprintf(env.stdout, "  %s [%d/%d]\n", k, held[k], r.NumNodes)
			}
		}
		return 0
	}
	method, key, say := http.MethodPost, *install, "Installing new gossip encryption key..."
	switch {
	case *use != "":
		method, key, say = http.MethodPut, *use, "Changing primary gossip encryption key..."
	case *remove != "":
		method, key, say = http.MethodDelete, *remove, "Removing gossip encryption key..."
	}
	fmt.Fprintln(env.stdout, "==> "+say)
	body, _ := json.Marshal(map[string]string{"Key": key})
	if _, _, err := c.do(method, "/v1/operator/keyring", q, strings.NewReader(string(body))); err != nil {
		return env.fail("error: %v", err)
	}
	return 0
}
