package config

import "flag"

// Flags are the `agentd agent` command-line flags. Each flag is bound to a
// config key, and its value goes through the same setter as a file's.
type Flags struct {
	// Dev is -dev.
	Dev bool
	// Paths are -config-file and -config-dir values in command-line order.
	Paths []string
	// Format is -config-format: "json" or "hcl" for every file whatever
	// its name; "" goes by extension.
	Format string
	// HCL are -hcl fragments in command-line order, applied after the
	// flags (Consul's order: files, flag values, then fragments).
	HCL   []string
	pairs []pair
}

// keyFlag records each occurrence as a (key, value) pair, in order.
type keyFlag struct {
	f      *Flags
	key    string
	isBool bool
}

func (k keyFlag) String() string { return "" }

func (k keyFlag) Set(s string) error {
	k.f.pairs = append(k.f.pairs, pair{key: k.key, value: s})
	return nil
}

func (k keyFlag) IsBoolFlag() bool { return k.isBool }

type hclFlag struct{ f *Flags }

func (h hclFlag) String() string { return "" }

func (h hclFlag) Set(s string) error {
	h.f.HCL = append(h.f.HCL, s)
	return nil
}

type pathFlag struct{ f *Flags }

func (p pathFlag) String() string { return "" }

func (p pathFlag) Set(s string) error {
	p.f.Paths = append(p.f.Paths, s)
	return nil
}

// flagKeys binds Consul's flag names (every flag of Consul's agent/config
// AddFlags, plus -primary-datacenter) to keys. Bool flags take -flag and
// -flag=true|false; the others -flag value and -flag=value; list and map
// keys (retry_join, node_meta, ...) take one value per occurrence.
var flagKeys = []struct {
	name, key, usage string
	isBool           bool
}{
	{"server", "server", "run in server mode", true},
	{"bootstrap", "bootstrap", "bootstrap a single server", true},
	{"bootstrap-expect", "bootstrap_expect", "servers to expect before bootstrapping", false},
	{"data-dir", "data_dir", "directory for persistent state", false},
	{"node", "node_name", "node name (default: host name)", false},
	{"node-id", "node_id", "node UUID (default: random, persisted)", false},
	{"datacenter", "datacenter", "datacenter name", false},
	{"bind", "bind_addr", "address for gossip and server RPC", false},
	{"client", "client_addr", "address for the HTTP API", false},
	{"advertise", "advertise_addr", "address advertised to peers", false},
	{"retry-join", "retry_join", "address to join, retried until it answers (repeatable)", false},
	{"join", "start_join", "address to join at start (repeatable; retried like -retry-join)", false},
	{"retry-interval", "retry_interval", "accepted for Consul's scripts (the gossip join backoff applies)", false},
	{"retry-max", "retry_max", "accepted for Consul's scripts (the gossip join backoff applies)", false},
	{"pid-file", "pid_file", "file to write the agent's PID to", false},
	{"ui", "ui", "accepted; agentd serves no web UI", true},
	{"disable-host-node-id", "disable_host_node_id", "accepted; node IDs are always random", true},
	{"http-port", "ports.http", "HTTP API port", false},
	{"dns-port", "ports.dns", "DNS port", false},
	{"serf-lan-port", "ports.serf_lan", "gossip (LAN) port", false},
	{"serf-wan-port", "ports.serf_wan", "gossip (WAN) port (agentd runs no WAN pool; reported by /v1/agent/members?wan)", false},
	{"https-port", "ports.https", "HTTPS port (not served)", false},
	{"grpc-port", "ports.grpc", "gRPC port (not served)", false},
	{"server-port", "ports.server", "server RPC port", false},
	{"log-level", "log_level", "trace, debug, info, warn or error", false},
	{"encrypt", "encrypt", "base64 gossip encryption key", false},
	{"node-meta", "node_meta", "key:value metadata for this node (repeatable)", false},
	{"primary-datacenter", "primary_datacenter", "the primary datacenter (reported only)", false},
	{"advertise-wan", "advertise_addr_wan", "address advertised on the WAN (reported only)", false},
	{"serf-lan-bind", "serf_lan", "LAN gossip listen address (default: -bind)", false},
	{"serf-wan-bind", "serf_wan", "WAN gossip listen address (stored; no WAN pool)", false},
	{"log-json", "log_json", "log one JSON object per line", true},
	{"log-file", "log_file", "also write logs to this file (a directory gets consul.log)", false},
	{"log-rotate-bytes", "log_rotate_bytes", "rotate -log-file after this many bytes (0: no limit)", false},
	{"log-rotate-duration", "log_rotate_duration", "rotate -log-file after this long (default 24h)", false},
	{"log-rotate-max-files", "log_rotate_max_files", "archives of -log-file to keep (0: all, -1: none)", false},
	{"grpc-tls-port", "ports.grpc_tls", "gRPC TLS port (not served)", false},
	// Accepted and stored; a value other than the default is warned about
	// (see Compat).
	{"alt-domain", "alt_domain", "alternate DNS domain (stored; no DNS)", false},
	{"domain", "domain", "DNS domain (stored; no DNS)", false},
	{"recursor", "recursors", "upstream DNS server (repeatable; stored; no DNS)", false},
	{"enable-script-checks", "enable_script_checks", "enable script checks (stored; no checks)", true},
	{"enable-local-script-checks", "enable_local_script_checks", "enable script checks from files (stored; no checks)", true},
	{"check_output_max_size", "check_output_max_size", "check output limit (stored; no checks)", false},
	{"raft-protocol", "raft_protocol", "Raft protocol version (agentd speaks 3)", false},
	{"protocol", "protocol", "RPC protocol version (stored)", false},
	{"segment", "segment", "network segment (Enterprise; stored)", false},
	{"read-replica", "read_replica", "read replica server (Enterprise; stored)", true},
	{"non-voting-server", "read_replica", "deprecated -read-replica (Enterprise; stored)", true},
	{"primary-gateway", "primary_gateways", "mesh gateway address (repeatable; stored)", false},
	{"join-wan", "start_join_wan", "WAN address to join (repeatable; stored; no WAN pool)", false},
	{"retry-join-wan", "retry_join_wan", "WAN address to join with retries (repeatable; stored)", false},
	{"retry-interval-wan", "retry_interval_wan", "WAN join retry interval (stored)", false},
	{"retry-max-wan", "retry_max_wan", "WAN join attempts (stored)", false},
	{"serf-lan-allowed-cidrs", "serf_lan_allowed_cidrs", "networks allowed for LAN gossip (repeatable; stored)", false},
	{"serf-wan-allowed-cidrs", "serf_wan_allowed_cidrs", "networks allowed for WAN gossip (repeatable; stored)", false},
	{"allow-write-http-from", "http_config.allow_write_http_from", "networks allowed to write over HTTP (repeatable; stored)", false},
	{"default-query-time", "default_query_time", "blocking query default wait (stored; 5m)", false},
	{"max-query-time", "max_query_time", "blocking query maximum wait (stored; 10m)", false},
	{"rejoin", "rejoin_after_leave", "rejoin after a leave (retry_join always does)", true},
	{"disable-keyring-file", "disable_keyring_file", "do not persist the keyring (agentd never does)", true},
	{"auto-reload-config", "auto_reload_config", "reload on config file changes (stored)", true},
	{"syslog", "enable_syslog", "log to syslog (stored)", true},
	{"ui-dir", "ui_config.dir", "web UI directory (stored; no UI)", false},
	{"ui-content-path", "ui_config.content_path", "web UI path (stored; no UI)", false},
}

// Register defines the flags on fs and returns where their values land.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.BoolVar(&f.Dev, "dev", false, "development mode: one in-memory server")
	fs.Var(pathFlag{f}, "config-file", "a JSON (or, named *.hcl, HCL) configuration file (repeatable)")
	fs.StringVar(&f.Format, "config-format", "", "json or hcl: read every config file in that format, whatever its name")
	fs.Var(pathFlag{f}, "config-dir", "a directory of *.json and *.hcl configuration files (repeatable)")
	fs.Var(hclFlag{f}, "hcl", "an HCL configuration fragment, applied after files and flags (repeatable)")
	for _, k := range flagKeys {
		fs.Var(keyFlag{f: f, key: k.key, isBool: k.isBool}, k.name, k.usage)
	}
	return f
}

// Load resolves the configuration from the parsed flags (see Load).
func (f *Flags) Load() (Config, []string, error) {
	return loadFormat(f.Dev, f.Format, f.Paths, f.pairs, f.HCL)
}
