package config

import (
	"os"
	"time"
)

// Config is an agent's resolved configuration. Field comments give the
// Consul key, the unit and the default.
type Config struct {
	// DevMode (-dev): an in-memory server that bootstraps itself.
	DevMode bool

	NodeName   string // node_name; default the host name
	NodeID     string // node_id, a UUID; default random (persisted in data_dir for servers)
	Datacenter string // datacenter; default "dc1"
	DataDir    string // data_dir; required unless -dev

	Server          bool // server
	Bootstrap       bool // bootstrap: a single server elects itself
	BootstrapExpect int  // bootstrap_expect: servers to wait for before bootstrapping (0: off)

	BindAddr      string   // bind_addr: gossip and server RPC listen address; default "0.0.0.0"
	ClientAddr    string   // client_addr: HTTP and DNS listen address; default "127.0.0.1"
	AdvertiseAddr string   // advertise_addr: address given to peers; default: derived from bind_addr
	RetryJoin     []string // retry_join: gossip addresses to join, retried until one answers
	// StartJoin (start_join, -join; removed from Consul 1.15 but still in
	// many scripts) is joined like retry_join: agentd retries it too
	// instead of failing the start.
	StartJoin []string
	// RetryInterval and RetryMax (retry_interval, retry_max) are accepted
	// for Consul's configurations; the gossip layer's own join backoff
	// (swim.Config.JoinRetryInterval) applies.
	RetryInterval time.Duration
	RetryMax      int
	// PidFile (pid_file): the agent writes its PID there at start and
	// removes it at exit.
	PidFile string
	// UI (ui, ui_config.enabled) and DisableHostNodeID
	// (disable_host_node_id) are accepted and have no effect: agentd serves
	// no web UI, and its node IDs are random (as with
	// disable_host_node_id, Consul's default since 0.8.5).
	UI, DisableHostNodeID bool

	Ports     Ports
	Addresses Addresses

	Encrypt  string // encrypt: base64 gossip key of 16, 24 or 32 bytes
	LogLevel string // log_level: trace, debug, info, warn, error; default "info"

	// RaftMultiplier (performance.raft_multiplier) scales Raft timing:
	// 1 is the fastest; default 5, -dev 1.
	RaftMultiplier int

	// LeaveOnTerminate (leave_on_terminate): leave gracefully on SIGTERM.
	// Default false for servers (leaving shrinks the quorum), true for clients.
	LeaveOnTerminate *bool
	// SkipLeaveOnInterrupt (skip_leave_on_interrupt): do not leave on SIGINT.
	// Default true for servers, false for clients.
	SkipLeaveOnInterrupt *bool

	// HTTPMaxConnsPerClient (limits.http_max_conns_per_client): concurrent
	// HTTP connections per client IP; default 200.
	HTTPMaxConnsPerClient int

	// EnableDebug (enable_debug): serve Go's profiler under /debug/pprof/
	// on the HTTP API, as Consul does; default false.
	EnableDebug bool

	// DisableHTTPUnprintableCharFilter (disable_http_unprintable_char_filter):
	// accept HTTP paths holding unprintable runes (Consul's escape hatch for
	// old keys); default false, such a path is a 400.
	DisableHTTPUnprintableCharFilter bool

	RaftSnapshotThreshold int           // raft_snapshot_threshold: entries between snapshots; default 16384
	RaftSnapshotInterval  time.Duration // raft_snapshot_interval: how often the threshold is checked; default 30s
	RaftTrailingLogs      int           // raft_trailing_logs: entries kept behind a snapshot; default 10240

	// RaftWALSegmentSizeMB (raft_logstore.wal.segment_size_mb): the Raft
	// log's segment size, MiB; default 64. Every new segment is zero-filled
	// to this size, so tests and short-lived clusters choose a small one.
	RaftWALSegmentSizeMB int

	// SessionTTLMin (session_ttl_min): the smallest session TTL accepted;
	// default 10s. Tests lower it to see expiry quickly.
	SessionTTLMin time.Duration

	// PrometheusRetention (telemetry.prometheus_retention_time): as in
	// Consul, GET /v1/agent/metrics?format=prometheus answers only when
	// it is positive; default 0 (off).
	PrometheusRetention time.Duration
	// DisableHostname (telemetry.disable_hostname): as in Consul (where
	// go-metrics inserts the host name into every gauge's name), gauges
	// are named consul.<host name>.… unless it is true; default false.
	DisableHostname bool
	// Autopilot is the dead-server cleanup (autopilot.*).
	Autopilot Autopilot

	// Connect is connect.*: agentd implements the built-in CA's root
	// bootstrap and the CA read endpoints, nothing else of Connect.
	Connect Connect

	// NodeMeta (node_meta, -node-meta key:value): this node's metadata,
	// reported by /v1/agent/self and put on its own catalog node.
	NodeMeta map[string]string
	// PrimaryDatacenter (primary_datacenter): reported by /v1/agent/self;
	// default the datacenter (agentd runs one).
	PrimaryDatacenter string
	// AdvertiseAddrWAN (advertise_addr_wan, -advertise-wan): the WAN
	// address /v1/agent/self reports; default advertise_addr.
	AdvertiseAddrWAN string
	// SerfBindLAN (serf_lan, -serf-lan-bind): the LAN gossip listen
	// address; default bind_addr. SerfBindWAN (serf_wan, -serf-wan-bind)
	// is stored: agentd runs no WAN pool.
	SerfBindLAN, SerfBindWAN string

	// Log is where and how the agent logs (log_json, log_file, ...).
	Log Log

	// Compat holds Consul keys agentd accepts without acting on them.
	Compat Compat
}

// Log is the agent's log output.
type Log struct {
	JSON bool   // log_json: one JSON object per line, hclog's keys
	File string // log_file: also write to this file (a directory gets consul.log)
	// Rotation of log_file (log_rotate_bytes, log_rotate_duration,
	// log_rotate_max_files): 0 bytes is no size limit, the duration
	// defaults to 24h, 0 files keeps every archive and -1 none.
	RotateBytes    int
	RotateDuration time.Duration
	RotateMaxFiles int
}

// Connect holds the connect.* keys agentd implements.
type Connect struct {
	// Enabled (connect.enabled): the leader bootstraps the built-in CA and
	// the CA endpoints answer; default true, as Consul since it made
	// Connect a default for every agent (-dev too).
	Enabled bool
	// CAProvider (connect.ca_provider): only Consul's built-in "consul".
	CAProvider string
	// CA is connect.ca_config, read once: when the leader first bootstraps
	// the CA (a running cluster keeps its replicated configuration).
	CA CAConfig
}

// CAConfig holds the connect.ca_config keys of the built-in provider.
type CAConfig struct {
	// ClusterID (cluster_id): a UUID naming the trust domain
	// <id>.consul; default a random one at bootstrap. Consul keeps it for
	// tests that want a fixed trust domain.
	ClusterID string
	// Certificate lifetimes (leaf_cert_ttl, intermediate_cert_ttl,
	// root_cert_ttl); defaults 72h, 8760h, 87600h. The root's is used;
	// the others are stored and reported.
	LeafCertTTL         time.Duration
	IntermediateCertTTL time.Duration
	RootCertTTL         time.Duration
	// PrivateKeyType (private_key_type: "ec" or "rsa") and PrivateKeyBits
	// (private_key_bits): the root key; "" and 0 take Consul's ec/256
	// (rsa: 2048).
	PrivateKeyType string
	PrivateKeyBits int
}

// Autopilot holds the autopilot keys agentd implements: the leader's
// removal of failed servers from the Raft configuration.
type Autopilot struct {
	// CleanupDeadServers (autopilot.cleanup_dead_servers): remove servers
	// gossip reports failed; default true.
	CleanupDeadServers bool
	// MinQuorum (autopilot.min_quorum): never remove a failed voter if
	// fewer voters than this would remain; default 0 (no minimum).
	MinQuorum int
}

// Ports are the listen ports (ports.*); -1 disables a listener.
type Ports struct {
	HTTP    int // ports.http; default 8500
	HTTPS   int // ports.https; default -1
	GRPC    int // ports.grpc; default -1 (8502 with -dev)
	DNS     int // ports.dns; default 8600
	SerfLAN int // ports.serf_lan; default 8301
	SerfWAN int // ports.serf_wan; default 8302
	Server  int // ports.server: Raft and server RPC; default 8300
}

// Addresses override client_addr per interface (addresses.*).
type Addresses struct {
	HTTP  string // addresses.http
	HTTPS string // addresses.https
	GRPC  string // addresses.grpc
	DNS   string // addresses.dns
}

// Default returns Consul's defaults.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "agentd"
	}
	return Config{
		NodeName:   host,
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		ClientAddr: "127.0.0.1",
		Ports: Ports{
			HTTP: 8500, HTTPS: -1, GRPC: -1, DNS: 8600,
			SerfLAN: 8301, SerfWAN: 8302, Server: 8300,
		},
		LogLevel:              "info",
		Log:                   Log{RotateDuration: 24 * time.Hour},
		Compat:                defaultCompat(),
		RaftMultiplier:        5,
		HTTPMaxConnsPerClient: 200,
		RaftSnapshotThreshold: 16384,
		RaftSnapshotInterval:  30 * time.Second,
		RaftTrailingLogs:      10240,
		RaftWALSegmentSizeMB:  64,
		SessionTTLMin:         10 * time.Second,
		Autopilot:             Autopilot{CleanupDeadServers: true},
		Connect: Connect{Enabled: true, CAProvider: "consul", CA: CAConfig{
			LeafCertTTL: 72 * time.Hour, IntermediateCertTTL: 8760 * time.Hour, RootCertTTL: 87600 * time.Hour,
		}},
	}
}

// devDefaults are what -dev changes, applied before files and flags so
// those still override them (as Consul's DevSource).
func devDefaults(c *Config) {
	c.DevMode = true
	c.Server = true
	c.Bootstrap = true
	c.BindAddr = "127.0.0.1"
	c.LogLevel = "debug"
	c.RaftMultiplier = 1
	c.Ports.GRPC = 8502
}

// LeavesOnTerminate resolves leave_on_terminate's role-dependent default.
func (c *Config) LeavesOnTerminate() bool {
	if c.LeaveOnTerminate != nil {
		return *c.LeaveOnTerminate
	}
	return !c.Server
}

// SkipsLeaveOnInterrupt resolves skip_leave_on_interrupt's role-dependent
// default.
func (c *Config) SkipsLeaveOnInterrupt() bool {
	if c.SkipLeaveOnInterrupt != nil {
		return *c.SkipLeaveOnInterrupt
	}
	return c.Server
}

// HTTPAddr is the host:port the HTTP API listens on.
func (c *Config) HTTPAddr() string {
	host := c.ClientAddr
	if c.Addresses.HTTP != "" {
		host = c.Addresses.HTTP
	}
	return joinHostPort(host, c.Ports.HTTP)
}

// Dev returns the -dev configuration with no files or flags (tests and
// embedders adjust fields from there).
func Dev() Config {
	c := Default()
	devDefaults(&c)
	return c
}
