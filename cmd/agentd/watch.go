package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/agentd/agentd/agent"
)

// cmdWatch is Consul's `watch -type=T [options] [child...]` for the views
// agentd serves: key (-key), keyprefix (-prefix), event (-name) and nodes.
// Without a child it prints the current view as indented JSON and exits;
// with one it runs the child (through $SHELL -c unless -shell=false) with
// the view as JSON on stdin and CONSUL_INDEX set, now and at every change
// of the view's index (a blocking query), until interrupted.
func cmdWatch(env *env, args []string) int {
	fs, hf := env.flags("watch")
	typ := fs.String("type", "", "the view: key, keyprefix, event or nodes")
	key := fs.String("key", "", "key to watch (type key)")
	prefix := fs.String("prefix", "", "key prefix to watch (type keyprefix)")
	name := fs.String("name", "", "event name to watch (type event)")
	shell := fs.Bool("shell", true, "run the child through a shell")
	// Consul's options of the views agentd does not serve (service,
	// checks): accepted, so a command line for them reaches the type's
	// "unsupported" error rather than a flag error.
	fs.String("service", "", "service to watch (types service, checks; not served)")
	fs.String("tag", "", "service tag to filter on (type service; not served)")
	fs.Bool("passingonly", false, "only passing instances (type service; not served)")
	fs.String("state", "", "check state to filter on (type checks; not served)")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	var view func(index uint64) (json.RawMessage, uint64, error)
	switch *typ {
	case "":
		return env.fail("Watch type must be specified")
	case "key":
		if *key == "" {
			return env.fail("Must specify a single key to watch")
		}
		view = func(index uint64) (json.RawMessage, uint64, error) {
			return watchGet(c, keyPath(*key), nil, index, true)
		}
	case "keyprefix":
		if *prefix == "" {
			return env.fail("Must specify a single prefix to watch")
		}
		view = func(index uint64) (json.RawMessage, uint64, error) {
			return watchGet(c, keyPath(*prefix), url.Values{"recurse": {""}}, index, false)
		}
	case "nodes":
		view = func(index uint64) (json.RawMessage, uint64, error) {
			return watchGet(c, "/v1/catalog/nodes", nil, index, false)
		}
	case "event":
		view = eventView(c, *name)
	default:
		return env.fail("Unsupported watch type: %s", *typ)
	}
	if _, _, err := c.do(http.MethodGet, "/v1/agent/self", nil, nil); err != nil {
		return env.fail("Error querying Consul agent: %v", err)
	}
	var last uint64
	for first := true; ; first = false {
		data, idx, err := view(last)
		if err != nil {
			fmt.Fprintf(env.stderr, "Watch (type: %s) errored: %v, retry in 5s\n", *typ, err)
			time.Sleep(5 * time.Second)
			continue
		}
		if !first && idx == last {
			continue // timed out unchanged
		}
		if idx < last {
			idx = 0 // the index went back (a restore): start again
		}
		last = idx
		if fs.NArg() == 0 {
			var out bytes.Buffer
			if err := json.Indent(&out, data, "", "    "); err != nil {
				return env.fail("Error encoding output: %v", err)
			}
			fmt.Fprintln(env.stdout, out.String())
			return 0
		}
		if err := runWatchHandler(env, fs.Args(), *shell, idx, data); err != nil {
			return env.fail("Error executing handler: %v", err)
		}
	}
}

// watchGet runs one (blocking, when index > 0) read of path. A missing key
// or prefix is JSON null; with single the one-element array's element is
// the view.
func watchGet(c *client, path string, q url.Values, index uint64, single bool) (json.RawMessage, uint64, error) {
	if q == nil {
		q = url.Values{}
	}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
	}
	body, h, err := c.do(http.MethodGet, path, q, nil)
	idx, _ := strconv.ParseUint(h.Get("X-Consul-Index"), 10, 64)
	if isNotFound(err) {
		return json.RawMessage("null"), idx, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if single {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 1 {
			return nil, 0, fmt.Errorf("unexpected answer for a single key: %s", body)
		}
		return arr[0], idx, nil
	}
	return body, idx, nil
}

// eventView lists the events named name; after the first answer only the
// events since the previous answer's last one, as Consul's event watch.
func eventView(c *client, name string) func(uint64) (json.RawMessage, uint64, error) {
	return func(index uint64) (json.RawMessage, uint64, error) {
		q := url.Values{}
		if name != "" {
			q.Set("name", name)
		}
		body, idx, err := watchGet(c, "/v1/event/list", q, index, false)
		if err != nil || index == 0 {
			return body, idx, err
		}
		var events []json.RawMessage
		if err := json.Unmarshal(body, &events); err != nil {
			return nil, 0, err
		}
		for i, e := range events {
			var id struct{ ID string }
			if json.Unmarshal(e, &id) == nil && agent.EventIDIndex(id.ID) == index {
				events = events[i+1:]
				break
			}
		}
		out, err := json.Marshal(events)
		return out, idx, err
	}
}

// runWatchHandler runs the child with the view on stdin and CONSUL_INDEX.
func runWatchHandler(env *env, args []string, shell bool, idx uint64, data json.RawMessage) error {
	cmd := childCommand(args, shell)
	cmd.Env = append(os.Environ(), "CONSUL_INDEX="+strconv.FormatUint(idx, 10))
	cmd.Stdin = bytes.NewReader(append(data, '\n'))
	cmd.Stdout, cmd.Stderr = env.stdout, env.stderr
	return cmd.Run()
}

// childCommand is a handler or lock child: args joined and run by $SHELL
// (else /bin/sh) -c, or with shell false run as they are.
func childCommand(args []string, shell bool) *exec.Cmd {
	if !shell {
		return exec.Command(args[0], args[1:]...)
	}
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	return exec.Command(sh, "-c", strings.Join(args, " "))
}
