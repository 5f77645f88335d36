package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/agentd/agentd/agent"
)

func cmdVersion(env *env, args []string) int {
	fs := newFlagSet(env, "version")
	format := fs.String("format", "pretty", "output format: pretty or json")
	if fs.Parse(args) != nil {
		return 1
	}
	switch *format {
	case "json":
		out, _ := json.MarshalIndent(map[string]any{
			"Version":     agent.Version,
			"Revision":    agent.Revision,
			"Prerelease":  "",
			"FullVersion": agent.Version,
		}, "", "  ")
		fmt.Fprintln(env.stdout, string(out))
	case "pretty":
		fmt.Fprintf(env.stdout, "agentd v%s\n", agent.Version)
		if agent.Revision != "" {
			fmt.Fprintf(env.stdout, "Revision %s\n", agent.Revision)
		}
	default:
		return env.fail("Invalid format %q: use pretty or json", *format)
	}
	return 0
}

// cmdKeygen prints a random 32-byte key in base64, the form -encrypt takes.
func cmdKeygen(env *env, args []string) int {
	fs := newFlagSet(env, "keygen")
	if fs.Parse(args) != nil {
		return 1
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return env.fail("Error reading random data: %v", err)
	}
	fmt.Fprintln(env.stdout, base64.StdEncoding.EncodeToString(key))
	return 0
}

// cmdInfo prints /v1/agent/self's Stats as Consul's `info` does.
func cmdInfo(env *env, args []string) int {
	fs, hf := env.flags("info")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error! %v", err)
	}
	var self struct {
		Stats map[string]map[string]string
	}
	if err := c.getJSON("/v1/agent/self", nil, &self); err != nil {
		return env.fail("Error querying agent: %v", err)
	}
	for _, section := range sortedKeys(self.Stats) {
		fmt.Fprintf(env.stdout, "%s:\n", section)
		for _, k := range sortedKeys(self.Stats[section]) {
			fmt.Fprintf(env.stdout, "\t%s = %s\n", k, self.Stats[section][k])
		}
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// cmdReload asks the agent to reload its configuration (SIGHUP's reload),
// as Consul's `reload`.
func cmdReload(env *env, args []string) int {
	fs, hf := env.flags("reload")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	if _, _, err := c.do(http.MethodPut, "/v1/agent/reload", nil, nil); err != nil {
		return env.fail("Error reloading: %v", err)
	}
	fmt.Fprintln(env.stdout, "Configuration reload triggered")
	return 0
}

// cmdMonitor streams the agent's log (/v1/agent/monitor) to stdout until
// the agent or the connection goes away, as Consul's `monitor`.
func cmdMonitor(env *env, args []string) int {
	fs, hf := env.flags("monitor")
	level := fs.String("log-level", "info", "trace, debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "lines as JSON")
	if fs.Parse(args) != nil {
		return 1
	}
	c, err := hf.client()
	if err != nil {
		return env.fail("Error connecting to Consul agent: %v", err)
	}
	q := url.Values{"loglevel": {*level}}
	if *logJSON {
		q.Set("logjson", "")
	}
	if err := c.stream("/v1/agent/monitor", q, env.stdout); err != nil {
		return env.fail("Error starting monitor: %v", err)
	}
	return 0
}
