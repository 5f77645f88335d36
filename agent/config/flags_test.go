package config

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConsulAgentFlags gives every flag of Consul's `consul agent`
// (agent/config/flags.go's AddFlags, Consul 1.2x) in Consul's syntax and
// checks that it parses, loads and lands where it should.
func TestConsulAgentFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(t *testing.T, c Config)
		warn  string // substring of the one expected warning ("" none)
	}{
		{[]string{"-advertise", "10.0.0.1"}, func(t *testing.T, c Config) { require.Equal(t, "10.0.0.1", c.AdvertiseAddr) }, ""},
		{[]string{"-advertise-wan", "10.0.0.2"}, func(t *testing.T, c Config) { require.Equal(t, "10.0.0.2", c.AdvertiseAddrWAN) }, ""},
		{[]string{"-alt-domain", "alt."}, func(t *testing.T, c Config) { require.Equal(t, "alt.", c.Compat.DNSAltDomain) }, "alt_domain"},
		{[]string{"-allow-write-http-from", "10.0.0.0/8", "-allow-write-http-from=127.0.0.0/8"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"10.0.0.0/8", "127.0.0.0/8"}, c.Compat.AllowWriteHTTPFrom)
		}, "allow_write_http_from"},
		{[]string{"-auto-reload-config"}, func(t *testing.T, c Config) { require.True(t, c.Compat.AutoReloadConfig) }, "auto_reload_config"},
		{[]string{"-bind", "127.0.0.2"}, func(t *testing.T, c Config) { require.Equal(t, "127.0.0.2", c.BindAddr) }, ""},
		{[]string{"-bootstrap", "-server"}, func(t *testing.T, c Config) { require.True(t, c.Bootstrap) }, ""},
		{[]string{"-bootstrap-expect", "3", "-server"}, func(t *testing.T, c Config) { require.Equal(t, 3, c.BootstrapExpect) }, ""},
		{[]string{"-check_output_max_size", "8192"}, func(t *testing.T, c Config) { require.Equal(t, 8192, c.Compat.CheckOutputMaxSize) }, "check_output_max_size"},
		{[]string{"-client", "0.0.0.0"}, func(t *testing.T, c Config) { require.Equal(t, "0.0.0.0", c.ClientAddr) }, ""},
		{[]string{"-config-dir", "@d"}, func(t *testing.T, c Config) { require.Equal(t, "from-dir", c.NodeName) }, ""},
		{[]string{"-config-file", "@f.json"}, func(t *testing.T, c Config) { require.Equal(t, "dc9", c.Datacenter) }, ""},
		{[]string{"-config-format", "hcl", "-config-file", "@h.conf"}, func(t *testing.T, c Config) { require.Equal(t, "hcl-node", c.NodeName) }, ""},
		{[]string{"-data-dir", "/tmp/y"}, func(t *testing.T, c Config) { require.Equal(t, "/tmp/y", c.DataDir) }, ""},
		{[]string{"-datacenter", "east"}, func(t *testing.T, c Config) { require.Equal(t, "east", c.Datacenter) }, ""},
		{[]string{"-default-query-time", "30s"}, func(t *testing.T, c Config) { require.Equal(t, 30*time.Second, c.Compat.DefaultQueryTime) }, "default_query_time"},
		{[]string{"-dev"}, func(t *testing.T, c Config) { require.True(t, c.DevMode) }, ""},
		{[]string{"-dev", "-client", "0.0.0.0", "-bind", "127.0.0.5"}, func(t *testing.T, c Config) {
			require.Equal(t, "0.0.0.0", c.ClientAddr)
			require.Equal(t, "127.0.0.5", c.BindAddr)
			require.True(t, c.Server)
		}, ""},
		{[]string{"-disable-host-node-id"}, func(t *testing.T, c Config) { require.True(t, c.DisableHostNodeID) }, ""},
		{[]string{"-disable-keyring-file"}, func(t *testing.T, c Config) { require.True(t, c.Compat.DisableKeyringFile) }, ""},
		{[]string{"-dns-port", "8601"}, func(t *testing.T, c Config) { require.Equal(t, 8601, c.Ports.DNS) }, ""},
		{[]string{"-domain", "example."}, func(t *testing.T, c Config) { require.Equal(t, "example.", c.Compat.DNSDomain) }, "\"domain\""},
		{[]string{"-enable-script-checks"}, func(t *testing.T, c Config) { require.True(t, c.Compat.EnableRemoteScriptChecks) }, "enable_script_checks"},
		{[]string{"-enable-script-checks=false"}, func(t *testing.T, c Config) { require.False(t, c.Compat.EnableRemoteScriptChecks) }, ""},
		{[]string{"-enable-local-script-checks=true"}, func(t *testing.T, c Config) { require.True(t, c.Compat.EnableLocalScriptChecks) }, "enable_local_script_checks"},
		{[]string{"-encrypt", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="}, func(t *testing.T, c Config) { require.NotEmpty(t, c.Encrypt) }, ""},
		{[]string{"-grpc-port", "8502"}, func(t *testing.T, c Config) { require.Equal(t, 8502, c.Ports.GRPC) }, ""},
		{[]string{"-grpc-tls-port", "8503"}, func(t *testing.T, c Config) { require.Equal(t, 8503, c.Compat.GRPCTLSPort) }, ""},
		{[]string{"-hcl", `node_name = "h1"`, "-hcl", `ports { http = 9500 }`}, func(t *testing.T, c Config) {
			require.Equal(t, "h1", c.NodeName)
			require.Equal(t, 9500, c.Ports.HTTP)
		}, ""},
		{[]string{"-http-port", "9501"}, func(t *testing.T, c Config) { require.Equal(t, 9501, c.Ports.HTTP) }, ""},
		{[]string{"-https-port", "8501"}, func(t *testing.T, c Config) { require.Equal(t, 8501, c.Ports.HTTPS) }, ""},
		{[]string{"-join", "10.0.0.5", "-join=10.0.0.6"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"10.0.0.5", "10.0.0.6"}, c.StartJoin)
			require.Equal(t, []string{"10.0.0.5", "10.0.0.6"}, c.RetryJoin, "start_join is retried as retry_join")
		}, ""},
		{[]string{"-join-wan", "10.1.0.5"}, func(t *testing.T, c Config) { require.Equal(t, []string{"10.1.0.5"}, c.Compat.StartJoinAddrsWAN) }, "start_join_wan"},
		{[]string{"-log-level", "trace"}, func(t *testing.T, c Config) { require.Equal(t, "trace", c.LogLevel) }, ""},
		{[]string{"-log-json"}, func(t *testing.T, c Config) { require.True(t, c.Log.JSON) }, ""},
		{[]string{"-log-file", "/tmp/agentd.log"}, func(t *testing.T, c Config) { require.Equal(t, "/tmp/agentd.log", c.Log.File) }, ""},
		{[]string{"-log-rotate-bytes", "1024"}, func(t *testing.T, c Config) { require.Equal(t, 1024, c.Log.RotateBytes) }, ""},
		{[]string{"-log-rotate-duration", "1h"}, func(t *testing.T, c Config) { require.Equal(t, time.Hour, c.Log.RotateDuration) }, ""},
		{[]string{"-log-rotate-max-files", "-1"}, func(t *testing.T, c Config) { require.Equal(t, -1, c.Log.RotateMaxFiles) }, ""},
		{[]string{"-max-query-time", "1m"}, func(t *testing.T, c Config) { require.Equal(t, time.Minute, c.Compat.MaxQueryTime) }, "max_query_time"},
		{[]string{"-node", "n1"}, func(t *testing.T, c Config) { require.Equal(t, "n1", c.NodeName) }, ""},
		{[]string{"-node-id", "8d8a1a4e-3f8c-4b5e-9d7a-0b1c2d3e4f50"}, func(t *testing.T, c Config) {
			require.Equal(t, "8d8a1a4e-3f8c-4b5e-9d7a-0b1c2d3e4f50", c.NodeID)
		}, ""},
		{[]string{"-node-meta", "rack:r1", "-node-meta", "url:http://x:1", "-node-meta", "bare"}, func(t *testing.T, c Config) {
			require.Equal(t, map[string]string{"rack": "r1", "url": "http://x:1", "bare": ""}, c.NodeMeta)
		}, ""},
		{[]string{"-non-voting-server"}, func(t *testing.T, c Config) { require.True(t, c.Compat.ReadReplica) }, "read_replica"},
		{[]string{"-read-replica"}, func(t *testing.T, c Config) { require.True(t, c.Compat.ReadReplica) }, "read_replica"},
		{[]string{"-pid-file", "/tmp/p"}, func(t *testing.T, c Config) { require.Equal(t, "/tmp/p", c.PidFile) }, ""},
		{[]string{"-primary-datacenter", "dc0"}, func(t *testing.T, c Config) { require.Equal(t, "dc0", c.PrimaryDatacenter) }, ""},
		{[]string{"-primary-gateway", "10.2.0.1:443"}, func(t *testing.T, c Config) { require.Equal(t, []string{"10.2.0.1:443"}, c.Compat.PrimaryGateways) }, "primary_gateways"},
		{[]string{"-protocol", "2"}, func(t *testing.T, c Config) { require.Equal(t, 2, c.Compat.RPCProtocol) }, ""},
		{[]string{"-raft-protocol", "3"}, func(t *testing.T, c Config) { require.Equal(t, 3, c.Compat.RaftProtocol) }, ""},
		{[]string{"-raft-protocol=2"}, func(t *testing.T, c Config) { require.Equal(t, 2, c.Compat.RaftProtocol) }, "raft_protocol"},
		{[]string{"-recursor", "8.8.8.8", "-recursor", "1.1.1.1"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"8.8.8.8", "1.1.1.1"}, c.Compat.DNSRecursors)
		}, "recursors"},
		{[]string{"-rejoin"}, func(t *testing.T, c Config) { require.True(t, c.Compat.RejoinAfterLeave) }, "rejoin_after_leave"},
		{[]string{"-retry-interval", "5s"}, func(t *testing.T, c Config) { require.Equal(t, 5*time.Second, c.RetryInterval) }, ""},
		{[]string{"-retry-interval-wan", "5s"}, func(t *testing.T, c Config) { require.Equal(t, 5*time.Second, c.Compat.RetryIntervalWAN) }, "retry_interval_wan"},
		{[]string{"-retry-join", "127.0.0.1:8301", "-retry-join", "127.0.0.2"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"127.0.0.1:8301", "127.0.0.2"}, c.RetryJoin)
		}, ""},
		{[]string{"-retry-join-wan", "10.3.0.1"}, func(t *testing.T, c Config) { require.Equal(t, []string{"10.3.0.1"}, c.Compat.RetryJoinWAN) }, "retry_join_wan"},
		{[]string{"-retry-max", "4"}, func(t *testing.T, c Config) { require.Equal(t, 4, c.RetryMax) }, ""},
		{[]string{"-retry-max-wan", "4"}, func(t *testing.T, c Config) { require.Equal(t, 4, c.Compat.RetryMaxWAN) }, "retry_max_wan"},
		{[]string{"-segment", "alpha"}, func(t *testing.T, c Config) { require.Equal(t, "alpha", c.Compat.SegmentName) }, "segment"},
		{[]string{"-serf-lan-allowed-cidrs", "10.0.0.0/8"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"10.0.0.0/8"}, c.Compat.SerfAllowedCIDRsLAN)
		}, "serf_lan_allowed_cidrs"},
		{[]string{"-serf-wan-allowed-cidrs", "10.0.0.0/8"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"10.0.0.0/8"}, c.Compat.SerfAllowedCIDRsWAN)
		}, "serf_wan_allowed_cidrs"},
		{[]string{"-serf-lan-bind", "127.0.0.3"}, func(t *testing.T, c Config) { require.Equal(t, "127.0.0.3", c.SerfBindLAN) }, ""},
		{[]string{"-serf-lan-port", "8311"}, func(t *testing.T, c Config) { require.Equal(t, 8311, c.Ports.SerfLAN) }, ""},
		{[]string{"-serf-wan-bind", "127.0.0.4"}, func(t *testing.T, c Config) { require.Equal(t, "127.0.0.4", c.SerfBindWAN) }, ""},
		{[]string{"-serf-wan-port", "8312"}, func(t *testing.T, c Config) { require.Equal(t, 8312, c.Ports.SerfWAN) }, ""},
		{[]string{"-server"}, func(t *testing.T, c Config) { require.True(t, c.Server) }, ""},
		{[]string{"-server=false"}, func(t *testing.T, c Config) { require.False(t, c.Server) }, ""},
		{[]string{"-server-port", "8310"}, func(t *testing.T, c Config) { require.Equal(t, 8310, c.Ports.Server) }, ""},
		{[]string{"-syslog"}, func(t *testing.T, c Config) { require.True(t, c.Compat.EnableSyslog) }, "enable_syslog"},
		{[]string{"-ui"}, func(t *testing.T, c Config) { require.True(t, c.UI) }, ""},
		{[]string{"-ui-content-path", "/consul/"}, func(t *testing.T, c Config) { require.Equal(t, "/consul/", c.Compat.UIContentPath) }, ""},
		{[]string{"-ui-dir", "/ui"}, func(t *testing.T, c Config) { require.Equal(t, "/ui", c.Compat.UIDir) }, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			files := map[string]string{
				"d/a.json": `{"node_name": "from-dir"}`,
				"f.json":   `{"datacenter": "dc9"}`,
				"h.conf":   `node_name = "hcl-node"`,
			}
			c, w, err := load(t, files, append([]string{"-data-dir", "/tmp/x"}, tc.args...)...)
			require.NoError(t, err)
			tc.check(t, c)
			if tc.warn == "" {
				require.Empty(t, w)
				return
			}
			require.Len(t, w, 1, "%q", w)
			require.Contains(t, w[0], tc.warn)
			require.Contains(t, w[0], "has no effect")
		})
	}
}

// TestEveryFlagBound checks that every flag the table names is defined:
// a Consul flag missing from Register would make `agentd agent` exit.
func TestEveryFlagBound(t *testing.T) {
	consul := strings.Fields(`advertise advertise-wan bind server-port bootstrap bootstrap-expect client
		check_output_max_size config-dir config-file config-format data-dir datacenter default-query-time dev
		disable-host-node-id disable-keyring-file dns-port domain alt-domain enable-script-checks
		enable-local-script-checks allow-write-http-from encrypt grpc-port grpc-tls-port http-port https-port
		join join-wan log-level log-json log-file log-rotate-bytes log-rotate-duration log-rotate-max-files
		max-query-time node node-id node-meta non-voting-server read-replica pid-file protocol raft-protocol
		recursor primary-gateway rejoin auto-reload-config retry-interval retry-interval-wan retry-join
		retry-join-wan retry-max retry-max-wan serf-lan-allowed-cidrs serf-wan-allowed-cidrs serf-lan-bind
		serf-lan-port segment serf-wan-bind serf-wan-port server syslog ui ui-content-path ui-dir hcl`)
	fs := newTestFlagSet()
	for _, name := range consul {
		require.NotNil(t, fs.Lookup(name), "flag -%s", name)
	}
}

// TestNodeMetaAndHCLOrder: files, then flags, then -hcl fragments; node
// metadata merges key by key and is validated as Consul's.
func TestNodeMetaAndHCLOrder(t *testing.T) {
	c, _, err := load(t, map[string]string{"a.hcl": `node_meta { a = "file" b = "file" }`},
		"-dev", "-config-file", "@a.hcl", "-node-meta", "b:flag", "-node-meta", "c:flag",
		"-node", "flagname", "-hcl", `node_name = "hclname"`, "-hcl", `node_meta = { c = "hcl" }`)
	require.NoError(t, err)
	require.Equal(t, "hclname", c.NodeName)
	require.Equal(t, map[string]string{"a": "file", "b": "flag", "c": "hcl"}, c.NodeMeta)

	for arg, want := range map[string]string{
		"consul-x:1": "reserved", "a b:1": "invalid characters", ":v": "blank",
	} {
		_, _, err := load(t, nil, "-dev", "-node-meta", arg)
		require.ErrorContains(t, err, "node_meta")
		require.ErrorContains(t, err, want)
	}
	_, _, err = load(t, nil, "-dev", "-hcl", `ports { http = "x" }`)
	require.ErrorContains(t, err, "-hcl fragment 1")
	require.ErrorContains(t, err, "ports.http")
}

func newTestFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	Register(fs)
	return fs
}

// TestCompatFromFiles: the stored keys load from files too, older names
// included, and warn once each whatever the number of sources.
func TestCompatFromFiles(t *testing.T) {
	c, w, err := load(t, map[string]string{
		"a.json": `{"ui_dir": "/ui", "non_voting_server": true, "recursors": ["1.1.1.1"], "http_config": {"allow_write_http_from": ["10.0.0.0/8"]}}`,
		"b.hcl":  `recursors = ["8.8.8.8"]` + "\nports { grpc_tls = 8503 }\n",
	}, "-dev", "-config-file", "@a.json", "-config-file", "@b.hcl", "-recursor", "9.9.9.9")
	require.NoError(t, err)
	require.Equal(t, "/ui", c.Compat.UIDir)
	require.True(t, c.Compat.ReadReplica)
	require.Equal(t, []string{"1.1.1.1", "8.8.8.8", "9.9.9.9"}, c.Compat.DNSRecursors, "lists append across sources")
	require.Equal(t, []string{"10.0.0.0/8"}, c.Compat.AllowWriteHTTPFrom)
	require.Equal(t, 8503, c.Compat.GRPCTLSPort)
	require.Len(t, w, 3, "read_replica, recursors, allow_write_http_from: %q", w)
	debug := c.DebugExtras()
	require.Equal(t, []string{"1.1.1.1", "8.8.8.8", "9.9.9.9"}, debug["DNSRecursors"])
	require.Equal(t, "5m0s", debug["DefaultQueryTime"])
	require.Equal(t, "dc1", debug["PrimaryDatacenter"])
}
