package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// cmdEvent fires a user event, as Consul's `event`: -name (required),
// optional -node, -service and -tag filters (regular expressions), and an
// optional payload argument. Prints the event's ID.
func cmdEvent(env *env, args []string) int {
	fs, hf := env.flags("event")
	name := fs.String("name", "", "name of the event (required)")
	node := fs.String("node", "", "regular expression to filter on node names")
	service := fs.String("service", "", "regular expression to filter on service names")
	tag := fs.String("tag", "", "regular expression to filter on service tags (needs -service)")
	if fs.Parse(args) != nil {
		return 1
	}
	switch {
	case *name == "":
		return env.fail("Event name must be specified")
	case strings.HasPrefix(*name, "_"):
		return env.fail("Event name cannot start with an underscore")
	case *tag != "" && *service == "":
		return env.fail("Cannot provide tag filter without service filter.")
	case fs.NArg() > 1:
		return env.fail("Too many command line arguments.")
	}
	var payload string
	if fs.NArg() == 1 {
		payload = fs.Arg(0)
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	q := url.Values{}
	for k, v := range map[string]string{"node": *node, "service": *service, "tag": *tag} {
		if v != "" {
			q.Set(k, v)
		}
	}
	body, _, err := c.do(http.MethodPut, "/v1/event/fire/"+url.PathEscape(*name), q, strings.NewReader(payload))
	if err != nil {
		return env.fail("Error firing event: %v", err)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal(body, &ev); err != nil {
		return env.fail("Error firing event: %v", err)
	}
	fmt.Fprintf(env.stdout, "Event ID: %s\n", ev.ID)
	return 0
}
