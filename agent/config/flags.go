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
	pairs  []pair
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

type pathFlag struct{ f *Flags }

func (p pathFlag) String() string { return "" }

func (p pathFlag) Set(s string) error {
	p.f.Paths = append(p.f.Paths, s)
	return nil
}

// flagKeys binds Consul's flag names to keys.
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
}

// Register defines the flags on fs and returns where their values land.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.BoolVar(&f.Dev, "dev", false, "development mode: one in-memory server")
	fs.Var(pathFlag{f}, "config-file", "a JSON (or, named *.hcl, HCL) configuration file (repeatable)")
	fs.StringVar(&f.Format, "config-format", "", "json or hcl: read every config file in that format, whatever its name")
	fs.Var(pathFlag{f}, "config-dir", "a directory of *.json and *.hcl configuration files (repeatable)")
	for _, k := range flagKeys {
		fs.Var(keyFlag{f: f, key: k.key, isBool: k.isBool}, k.name, k.usage)
	}
	return f
}

// Load resolves the configuration from the parsed flags (see Load).
func (f *Flags) Load() (Config, []string, error) {
	return loadFormat(f.Dev, f.Format, f.Paths, f.pairs)
}
