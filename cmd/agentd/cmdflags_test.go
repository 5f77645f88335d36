package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandFlagsAsConsul: every command accepts each flag Consul's
// command of that name documents (Consul 1.2x CLI reference), so a script
// written for the consul binary does not die on a flag error. The flags
// are read from the command's -h listing.
func TestCommandFlagsAsConsul(t *testing.T) {
	client := "http-addr token token-file ca-file ca-path client-cert client-key tls-server-name "
	server := "datacenter stale "
	tenancy := "namespace partition "
	for _, tc := range []struct {
		cmd   []string
		flags string
	}{
		{[]string{"kv", "get"}, client + server + tenancy + "base64 detailed keys recurse separator"},
		{[]string{"kv", "put"}, client + server + tenancy + "acquire base64 cas flags modify-index release session"},
		{[]string{"kv", "delete"}, client + server + tenancy + "cas modify-index recurse"},
		{[]string{"kv", "export"}, client + server + tenancy},
		{[]string{"kv", "import"}, client + server + tenancy + "prefix"},
		{[]string{"members"}, client + "detailed status wan segment partition filter"},
		{[]string{"join"}, client + "wan partition"},
		{[]string{"leave"}, client},
		{[]string{"force-leave"}, client + "prune wan partition"},
		{[]string{"operator", "raft", "list-peers"}, client + server},
		{[]string{"operator", "raft", "remove-peer"}, client + server + "address id"},
		{[]string{"operator", "raft", "transfer-leader"}, client + server + "id"},
		{[]string{"snapshot", "save"}, client + server + "append-filename"},
		{[]string{"snapshot", "restore"}, client + server},
		{[]string{"event"}, client + server + "name node service tag"},
		{[]string{"lock"}, client + server + "n name pass-stdin shell timeout try monitor-retry verbose child-exit-code"},
		{[]string{"watch"}, client + server + "type key prefix service tag passingonly state name shell"},
		{[]string{"keyring"}, client + "install list list-primary remove use relay-factor local-only"},
		{[]string{"info"}, client},
		{[]string{"reload"}, client},
		{[]string{"monitor"}, client + "log-level log-json"},
		{[]string{"validate"}, "quiet config-format"},
		{[]string{"version"}, "format"},
	} {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			_, _, usage := runCmd(t, "", append(tc.cmd, "-h")...)
			have := map[string]bool{}
			for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9_-]+)`).FindAllStringSubmatch(usage, -1) {
				have[m[1]] = true
			}
			require.NotEmpty(t, have, usage)
			for _, f := range strings.Fields(tc.flags) {
				require.True(t, have[f], "-%s missing from %q", f, tc.cmd)
			}
		})
	}
}
