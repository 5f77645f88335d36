package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// load parses args as `agentd agent` flags after writing files (name →
// content) into a temp dir; "@" in args stands for that dir.
func load(t *testing.T, files map[string]string, args ...string) (Config, []string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	for i, a := range args {
		if len(a) > 0 && a[0] == '@' {
			args[i] = filepath.Join(dir, a[1:])
		}
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	f := Register(fs)
	require.NoError(t, fs.Parse(args))
	return f.Load()
}

func TestDefaults(t *testing.T) {
	c, w, err := load(t, nil, "-data-dir", "/tmp/x")
	require.NoError(t, err)
	require.Empty(t, w)
	require.Equal(t, "dc1", c.Datacenter)
	require.Equal(t, 8500, c.Ports.HTTP)
	require.Equal(t, -1, c.Ports.HTTPS)
	require.Equal(t, -1, c.Ports.GRPC)
	require.Equal(t, 8600, c.Ports.DNS)
	require.Equal(t, 8301, c.Ports.SerfLAN)
	require.Equal(t, 8302, c.Ports.SerfWAN)
	require.Equal(t, 8300, c.Ports.Server)
	require.Equal(t, 5, c.RaftMultiplier)
	require.Equal(t, 200, c.HTTPMaxConnsPerClient)
	require.Equal(t, 16384, c.RaftSnapshotThreshold)
	require.Equal(t, 30*time.Second, c.RaftSnapshotInterval)
	require.Equal(t, 10240, c.RaftTrailingLogs)
	require.Equal(t, "127.0.0.1:8500", c.HTTPAddr())
	require.False(t, c.Server)
	require.True(t, c.LeavesOnTerminate(), "clients leave on SIGTERM")
	require.False(t, c.SkipsLeaveOnInterrupt(), "clients leave on SIGINT")
	require.True(t, c.Connect.Enabled, "connect is on by default, as Consul's")
	require.Equal(t, Connect{Enabled: true, CAProvider: "consul", CA: CAConfig{
		LeafCertTTL: 72 * time.Hour, IntermediateCertTTL: 8760 * time.Hour, RootCertTTL: 87600 * time.Hour}}, c.Connect)
}

func TestDev(t *testing.T) {
	c, _, err := load(t, nil, "-dev")
	require.NoError(t, err)
	require.True(t, c.DevMode)
	require.True(t, c.Server)
	require.True(t, c.Bootstrap)
	require.Equal(t, 1, c.RaftMultiplier)
	require.Equal(t, "debug", c.LogLevel)
	require.Equal(t, 8502, c.Ports.GRPC)
	require.False(t, c.LeavesOnTerminate(), "servers do not leave on SIGTERM")
	require.True(t, c.SkipsLeaveOnInterrupt(), "servers do not leave on SIGINT")
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		check func(t *testing.T, c Config)
		warn  []string // substrings, one per expected warning
		err   string   // substring of the expected error
	}{
		{
			name:  "file keys",
			files: map[string]string{"a.json": `{"node_name":"n1","datacenter":"east","data_dir":"/d","server":true,"bootstrap_expect":3,"retry_join":["10.0.0.1","10.0.0.2"],"ports":{"http":9500,"serf_lan":9301},"addresses":{"http":"0.0.0.0"},"performance":{"raft_multiplier":2},"limits":{"http_max_conns_per_client":50},"raft_snapshot_interval":"5s","raft_trailing_logs":7,"raft_snapshot_threshold":64,"leave_on_terminate":true,"skip_leave_on_interrupt":false,"log_level":"WARN"}`},
			args:  []string{"-config-file", "@a.json"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "n1", c.NodeName)
				require.Equal(t, "east", c.Datacenter)
				require.True(t, c.Server)
				require.Equal(t, 3, c.BootstrapExpect)
				require.Equal(t, []string{"10.0.0.1", "10.0.0.2"}, c.RetryJoin)
				require.Equal(t, 9500, c.Ports.HTTP)
				require.Equal(t, 9301, c.Ports.SerfLAN)
				require.Equal(t, "0.0.0.0:9500", c.HTTPAddr())
				require.Equal(t, 2, c.RaftMultiplier)
				require.Equal(t, 50, c.HTTPMaxConnsPerClient)
				require.Equal(t, 5*time.Second, c.RaftSnapshotInterval)
				require.Equal(t, 7, c.RaftTrailingLogs)
				require.Equal(t, 64, c.RaftSnapshotThreshold)
				require.True(t, c.LeavesOnTerminate())
				require.False(t, c.SkipsLeaveOnInterrupt())
			},
		},
		{
			name: "dir merged in lexical order",
			files: map[string]string{
				"d/10-b.json":   `{"node_name":"second","datacenter":"x"}`,
				"d/02-a.json":   `{"node_name":"first","data_dir":"/d"}`,
				"d/ignored.txt": `not json`,
			},
			args: []string{"-config-dir", "@d"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "second", c.NodeName)
				require.Equal(t, "x", c.Datacenter)
			},
		},
		{
			name:  "flags override files",
			files: map[string]string{"a.json": `{"node_name":"file","data_dir":"/d","ports":{"http":1}}`},
			args:  []string{"-config-file", "@a.json", "-node", "flag", "-http-port", "2"},
			check: func(t *testing.T, c Config) { require.Equal(t, "flag", c.NodeName); require.Equal(t, 2, c.Ports.HTTP) },
		},
		{
			name:  "flags after files whatever their order",
			files: map[string]string{"a.json": `{"node_name":"file","data_dir":"/d"}`},
			args:  []string{"-node", "flag", "-config-file", "@a.json"},
			check: func(t *testing.T, c Config) { require.Equal(t, "flag", c.NodeName) },
		},
		{
			name:  "files override dev",
			files: map[string]string{"a.json": `{"performance":{"raft_multiplier":3}}`},
			args:  []string{"-dev", "-config-file", "@a.json"},
			check: func(t *testing.T, c Config) { require.Equal(t, 3, c.RaftMultiplier) },
		},
		{
			name:  "retry_join appends across sources",
			files: map[string]string{"a.json": `{"retry_join":["a"],"data_dir":"/d"}`},
			args:  []string{"-config-file", "@a.json", "-retry-join", "b", "-retry-join", "c"},
			check: func(t *testing.T, c Config) { require.Equal(t, []string{"a", "b", "c"}, c.RetryJoin) },
		},
		{
			name:  "numbers and booleans as strings",
			files: map[string]string{"a.json": `{"server":"true","bootstrap_expect":"3","ports":{"http":"8501"},"data_dir":"/d"}`},
			args:  []string{"-config-file", "@a.json"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 3, c.BootstrapExpect)
				require.Equal(t, 8501, c.Ports.HTTP)
			},
		},
		{
			name:  "unknown keys warn",
			files: map[string]string{"a.json": `{"data_dir":"/d","dns_config":{"allow_stale":true},"ports":{"sidecar_min_port":1}}`},
			args:  []string{"-config-file", "@a.json"},
			warn:  []string{`"dns_config"`, `"ports.sidecar_min_port"`},
		},
		{
			name:  "hcl and json in a dir, merged in lexical order",
			files: map[string]string{"d/a.hcl": "server = true\nbootstrap_expect = 3\nports { http = 9500 }", "d/b.json": `{"data_dir":"/d","ports":{"dns":9600}}`},
			args:  []string{"-config-dir", "@d"},
			check: func(t *testing.T, c Config) {
				require.True(t, c.Server)
				require.Equal(t, 3, c.BootstrapExpect)
				require.Equal(t, 9500, c.Ports.HTTP)
				require.Equal(t, 9600, c.Ports.DNS)
			},
		},
		{
			name: "hcl as Consul's docs write it",
			files: map[string]string{"a.hcl": `# a server
datacenter = "east"
data_dir   = "/d"   // trailing comment
server     = true
bootstrap_expect = 3
retry_join = ["10.0.0.1", "10.0.0.2",]
/* block
   comment */
ports {
  http     = 9500
  serf_lan = 9301
}
performance = { raft_multiplier = 1 }
limits { http_max_conns_per_client = 50 }
dns_config { allow_stale = true }
raft_snapshot_interval = "5s"`},
			args: []string{"-config-file", "@a.hcl"},
			warn: []string{`"dns_config"`},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "east", c.Datacenter)
				require.Equal(t, []string{"10.0.0.1", "10.0.0.2"}, c.RetryJoin)
				require.Equal(t, 9500, c.Ports.HTTP)
				require.Equal(t, 9301, c.Ports.SerfLAN)
				require.Equal(t, 1, c.RaftMultiplier)
				require.Equal(t, 50, c.HTTPMaxConnsPerClient)
				require.Equal(t, 5*time.Second, c.RaftSnapshotInterval)
			},
		},
		{
			name:  "nested raft_logstore section",
			files: map[string]string{"a.json": `{"data_dir":"/d","raft_logstore":{"backend":"wal","wal":{"segment_size_mb":2}}}`},
			args:  []string{"-config-file", "@a.json"},
			warn:  []string{`"raft_logstore.backend"`},
			check: func(t *testing.T, c Config) { require.Equal(t, 2, c.RaftWALSegmentSizeMB) },
		},
		{name: "bad segment size", files: map[string]string{"a.json": `{"raft_logstore":{"wal":{"segment_size_mb":0}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"raft_logstore.wal.segment_size_mb"`},
		{
			name: "Consul's other agent flags",
			args: []string{"-dev", "-join", "10.0.0.1", "-retry-join", "10.0.0.2", "-serf-wan-port", "9302", "-grpc-port", "-1",
				"-ui", "-disable-host-node-id", "-pid-file", "/run/a.pid", "-retry-interval", "5s", "-retry-max", "3"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, []string{"10.0.0.2", "10.0.0.1"}, c.RetryJoin, "start_join is joined like retry_join")
				require.Equal(t, 9302, c.Ports.SerfWAN)
				require.Equal(t, "/run/a.pid", c.PidFile)
				require.True(t, c.UI)
				require.Equal(t, 5*time.Second, c.RetryInterval)
				require.Equal(t, 3, c.RetryMax)
			},
		},
		{
			name:  "-config-format hcl reads any name",
			files: map[string]string{"d/server.conf": "server = true\ndata_dir = \"/d\"", "e.txt": "ports { http = 9500 }"},
			args:  []string{"-config-format", "hcl", "-config-dir", "@d", "-config-file", "@e.txt"},
			check: func(t *testing.T, c Config) {
				require.True(t, c.Server)
				require.Equal(t, 9500, c.Ports.HTTP)
			},
		},
		{name: "bad -config-format", args: []string{"-dev", "-config-format", "yaml"}, err: "-config-format"},
		{name: "empty json file", files: map[string]string{"a.json": " \n"}, args: []string{"-dev", "-config-file", "@a.json"}},
		{name: "bad hcl", files: map[string]string{"a.hcl": "server = true\nports { http = }"}, args: []string{"-config-file", "@a.hcl"}, err: "invalid HCL: line 2"},
		{name: "hcl bad value names the key", files: map[string]string{"a.hcl": `performance { raft_multiplier = "fast" }`}, args: []string{"-dev", "-config-file", "@a.hcl"}, err: `"performance.raft_multiplier"`},
		{name: "missing file", args: []string{"-config-file", "/nonexistent/x.json"}, err: "nonexistent"},
		{name: "bad json", files: map[string]string{"a.json": `{`}, args: []string{"-config-file", "@a.json"}, err: "invalid JSON"},
		{name: "no data dir", err: `"data_dir"`},
		{name: "bad multiplier", files: map[string]string{"a.json": `{"performance":{"raft_multiplier":0}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"performance.raft_multiplier"`},
		{name: "multiplier wrong type", files: map[string]string{"a.json": `{"performance":{"raft_multiplier":"fast"}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"performance.raft_multiplier"`},
		{name: "section not an object", files: map[string]string{"a.json": `{"ports":5}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"ports"`},
		{name: "bad port", args: []string{"-dev", "-http-port", "70000"}, err: `"ports.http"`},
		{name: "port not a number", args: []string{"-dev", "-http-port", "x"}, err: `"ports.http"`},
		{name: "bad node id", args: []string{"-dev", "-node-id", "nope"}, err: `"node_id"`},
		{name: "bad bind", args: []string{"-dev", "-bind", "host.example"}, err: `"bind_addr"`},
		{name: "bad log level", args: []string{"-dev", "-log-level", "loud"}, err: `"log_level"`},
		{name: "bad encrypt", args: []string{"-dev", "-encrypt", "abc"}, err: `"encrypt"`},
		{name: "expect without server", args: []string{"-data-dir", "/d", "-bootstrap-expect", "3"}, err: `"bootstrap_expect"`},
		{
			name: "bootstrap_expect 1 is bootstrap mode", args: []string{"-data-dir", "/d", "-server", "-bootstrap-expect", "1"},
			warn: []string{"same as bootstrap mode"},
			check: func(t *testing.T, c Config) {
				require.True(t, c.Bootstrap)
				require.Zero(t, c.BootstrapExpect)
			},
		},
		{name: "bootstrap with expect", args: []string{"-data-dir", "/d", "-server", "-bootstrap", "-bootstrap-expect", "3"}, err: `"bootstrap_expect"`},
		{name: "bad duration", files: map[string]string{"a.json": `{"raft_snapshot_interval":"soon"}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"raft_snapshot_interval"`},
		{name: "bad datacenter", files: map[string]string{"a.json": `{"datacenter":"a b"}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"datacenter"`},
		{name: "retry_join wrong element", files: map[string]string{"a.json": `{"retry_join":[1]}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"retry_join"`},
		{name: "negative min_quorum", files: map[string]string{"a.json": `{"autopilot":{"min_quorum":-1}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"autopilot.min_quorum"`},
		{
			name:  "autopilot keys",
			files: map[string]string{"a.json": `{"autopilot":{"cleanup_dead_servers":false,"min_quorum":3}}`},
			args:  []string{"-dev", "-config-file", "@a.json"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, Autopilot{CleanupDeadServers: false, MinQuorum: 3}, c.Autopilot)
			},
		},
		{
			name:  "connect as Consul's test harness writes it",
			files: map[string]string{"a.json": `{"connect":{"enabled":true,"ca_config":{"cluster_id":"11111111-2222-3333-4444-555555555555","leaf_cert_ttl":"24h","csr_max_per_second":0}}}`},
			args:  []string{"-dev", "-config-file", "@a.json"},
			warn:  []string{`"connect.ca_config.csr_max_per_second"`},
			check: func(t *testing.T, c Config) {
				require.True(t, c.Connect.Enabled)
				require.Equal(t, "11111111-2222-3333-4444-555555555555", c.Connect.CA.ClusterID)
				require.Equal(t, 24*time.Hour, c.Connect.CA.LeafCertTTL)
				require.Equal(t, 87600*time.Hour, c.Connect.CA.RootCertTTL, "defaults kept")
			},
		},
		{
			name:  "connect disabled",
			files: map[string]string{"a.json": `{"connect":{"enabled":false}}`},
			args:  []string{"-dev", "-config-file", "@a.json"},
			check: func(t *testing.T, c Config) { require.False(t, c.Connect.Enabled) },
		},
		{name: "connect bad cluster_id", files: map[string]string{"a.json": `{"connect":{"ca_config":{"cluster_id":"x"}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"connect.ca_config.cluster_id"`},
		{name: "connect other provider", files: map[string]string{"a.json": `{"connect":{"ca_provider":"vault"}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"connect.ca_provider"`},
		{name: "connect short leaf ttl", files: map[string]string{"a.json": `{"connect":{"ca_config":{"leaf_cert_ttl":"30m"}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: "leaf cert TTL must be greater or equal than 1h0m0s"},
		{name: "connect intermediate below 3 leaves", files: map[string]string{"a.json": `{"connect":{"ca_config":{"leaf_cert_ttl":"72h","intermediate_cert_ttl":"100h"}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `3 * LeafCertTTL (>=216h0m0s)`},
		{name: "connect root below intermediate", files: map[string]string{"a.json": `{"connect":{"ca_config":{"root_cert_ttl":"100h"}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"connect.ca_config.root_cert_ttl"`},
		{name: "connect bad key type", files: map[string]string{"a.json": `{"connect":{"ca_config":{"private_key_type":"dsa"}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: "must be either 'ec' or 'rsa'"},
		{name: "connect bad ec bits", files: map[string]string{"a.json": `{"connect":{"ca_config":{"private_key_bits":2048}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: "EC key length"},
		{name: "connect bad rsa bits", files: map[string]string{"a.json": `{"connect":{"ca_config":{"private_key_type":"rsa","private_key_bits":256}}}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: "RSA key length"},
		{name: "fractional int", files: map[string]string{"a.json": `{"raft_trailing_logs":1.5}`}, args: []string{"-dev", "-config-file", "@a.json"}, err: `"raft_trailing_logs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, warnings, err := load(t, tc.files, tc.args...)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, warnings, len(tc.warn), "warnings: %q", warnings)
			for i, w := range tc.warn {
				require.Contains(t, warnings[i], w)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, ok := range map[string]bool{"trace": true, "DEBUG": true, "info": true, "warn": true, "warning": true, "error": true, "err": true, "x": false} {
		_, got := ParseLogLevel(in)
		require.Equal(t, ok, got, in)
	}
}
