package config

import (
	"fmt"
	"reflect"
	"time"
)

// Compat holds Consul keys agentd accepts and stores but does not act on,
// so that Consul's command lines and configuration files start an agentd
// agent unchanged. Each field's tag names its key; Go field names are
// Consul's runtime names, which /v1/agent/self's DebugConfig reports.
//
// A field whose value differs from its default produces one load warning
// (compatReasons says why it has no effect); a field with no reason is
// silent, because agentd already behaves as the value asks.
type Compat struct {
	DNSDomain    string   `key:"domain"`     // default "consul."; agentd serves no DNS
	DNSAltDomain string   `key:"alt_domain"` // default ""
	DNSRecursors []string `key:"recursors"`

	EnableRemoteScriptChecks bool `key:"enable_script_checks"`
	EnableLocalScriptChecks  bool `key:"enable_local_script_checks"`
	CheckOutputMaxSize       int  `key:"check_output_max_size"` // default 4096

	// RaftProtocol is 3, the only version agentd speaks (Consul 1.x's
	// default); RPCProtocol is Consul's -protocol, default 2.
	RaftProtocol int `key:"raft_protocol"`
	RPCProtocol  int `key:"protocol"`

	SegmentName       string        `key:"segment"`          // Enterprise network segments
	ReadReplica       bool          `key:"read_replica"`     // Enterprise; non_voting_server is its old name
	PrimaryGateways   []string      `key:"primary_gateways"` // mesh gateway WAN federation
	StartJoinAddrsWAN []string      `key:"start_join_wan"`   // -join-wan
	RetryJoinWAN      []string      `key:"retry_join_wan"`   // -retry-join-wan
	RetryIntervalWAN  time.Duration `key:"retry_interval_wan"`
	RetryMaxWAN       int           `key:"retry_max_wan"`

	SerfAllowedCIDRsLAN []string `key:"serf_lan_allowed_cidrs"`
	SerfAllowedCIDRsWAN []string `key:"serf_wan_allowed_cidrs"`
	AllowWriteHTTPFrom  []string `key:"http_config.allow_write_http_from"`

	// Blocking-query bounds; agentd's are fixed at Consul's defaults.
	DefaultQueryTime time.Duration `key:"default_query_time"`
	MaxQueryTime     time.Duration `key:"max_query_time"`

	// RejoinAfterLeave (-rejoin): agentd keeps no gossip snapshot; a
	// restarted agent rejoins through retry_join and start_join.
	RejoinAfterLeave bool `key:"rejoin_after_leave"`
	// DisableKeyringFile: agentd never writes a keyring file, which is
	// what the flag asks for.
	DisableKeyringFile bool `key:"disable_keyring_file"`
	AutoReloadConfig   bool `key:"auto_reload_config"`
	EnableSyslog       bool `key:"enable_syslog"`

	UIDir         string `key:"ui_config.dir"`
	UIContentPath string `key:"ui_config.content_path"`
	GRPCTLSPort   int    `key:"ports.grpc_tls"` // default -1; not served, as ports.grpc
}

// compatReasons says why a key of Compat has no effect; keys without an
// entry are silent.
var compatReasons = map[string]string{
	"domain":                            "agentd serves no DNS",
	"alt_domain":                        "agentd serves no DNS",
	"recursors":                         "agentd serves no DNS",
	"enable_script_checks":              "agentd runs no health checks",
	"enable_local_script_checks":        "agentd runs no health checks",
	"check_output_max_size":             "agentd runs no health checks",
	"raft_protocol":                     "agentd speaks Raft protocol 3 only",
	"protocol":                          "agentd speaks one RPC protocol",
	"segment":                           "network segments are a Consul Enterprise feature",
	"read_replica":                      "read replicas are a Consul Enterprise feature",
	"primary_gateways":                  "agentd runs no WAN federation",
	"start_join_wan":                    "agentd runs no WAN gossip pool",
	"retry_join_wan":                    "agentd runs no WAN gossip pool",
	"retry_interval_wan":                "agentd runs no WAN gossip pool",
	"retry_max_wan":                     "agentd runs no WAN gossip pool",
	"serf_lan_allowed_cidrs":            "gossip accepts every source address",
	"serf_wan_allowed_cidrs":            "agentd runs no WAN gossip pool",
	"http_config.allow_write_http_from": "the HTTP API accepts writes from every client",
	"default_query_time":                "blocking queries wait 5m by default",
	"max_query_time":                    "blocking queries wait at most 10m",
	"rejoin_after_leave":                "agentd keeps no gossip snapshot; it rejoins through retry_join and start_join",
	"auto_reload_config":                "configuration is reloaded on SIGHUP and `reload` only",
	"enable_syslog":                     "agentd logs to stderr and -log-file only",
}

// compatAliases are older Consul names of Compat keys.
var compatAliases = map[string]string{
	"non_voting_server": "read_replica",
	"ui_dir":            "ui_config.dir",
}

func defaultCompat() Compat {
	return Compat{
		DNSDomain: "consul.", CheckOutputMaxSize: 4096, RaftProtocol: 3, RPCProtocol: 2,
		RetryIntervalWAN: 30 * time.Second, DefaultQueryTime: 5 * time.Minute,
		MaxQueryTime: 10 * time.Minute, GRPCTLSPort: -1,
	}
}

// compatFields visits Compat's fields with their keys.
func compatFields(c *Compat, visit func(key string, f reflect.StructField, v reflect.Value)) {
	rv := reflect.ValueOf(c).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		visit(rt.Field(i).Tag.Get("key"), rt.Field(i), rv.Field(i))
	}
}

// registerCompatKeys adds a setter for every Compat key (and alias) to keys.
func registerCompatKeys() {
	var zero Compat
	compatFields(&zero, func(key string, f reflect.StructField, _ reflect.Value) {
		idx := f.Index
		field := func(c *Config) reflect.Value { return reflect.ValueOf(&c.Compat).Elem().FieldByIndex(idx) }
		var set setter
		switch f.Type {
		case reflect.TypeFor[string]():
			set = strKey(func(c *Config) *string { return field(c).Addr().Interface().(*string) })
		case reflect.TypeFor[bool]():
			set = boolKey(func(c *Config) *bool { return field(c).Addr().Interface().(*bool) })
		case reflect.TypeFor[int]():
			set = intKey(func(c *Config) *int { return field(c).Addr().Interface().(*int) })
		case reflect.TypeFor[time.Duration]():
			set = durKey(func(c *Config) *time.Duration { return field(c).Addr().Interface().(*time.Duration) })
		case reflect.TypeFor[[]string]():
			set = listKey(func(c *Config) *[]string { return field(c).Addr().Interface().(*[]string) })
		default:
			panic(fmt.Sprintf("config: Compat.%s has unsupported type %s", f.Name, f.Type))
		}
		keys[key] = set
	})
	for alias, key := range compatAliases {
		keys[alias] = keys[key]
	}
}

func init() { registerCompatKeys() }

// warnings lists the keys set away from their defaults that have no
// effect, one line each, in field order.
func (c *Compat) warnings() []string {
	def := defaultCompat()
	dv := reflect.ValueOf(&def).Elem()
	var out []string
	compatFields(c, func(key string, f reflect.StructField, v reflect.Value) {
		reason := compatReasons[key]
		if reason == "" || reflect.DeepEqual(v.Interface(), dv.FieldByIndex(f.Index).Interface()) {
			return
		}
		out = append(out, fmt.Sprintf("config: %q is accepted but has no effect: %s", key, reason))
	})
	return out
}

// Debug returns the fields under their Consul runtime names, durations
// as strings (Consul's DebugConfig form), lists never null.
func (c *Compat) Debug() map[string]any {
	out := map[string]any{}
	compatFields(c, func(_ string, f reflect.StructField, v reflect.Value) {
		switch x := v.Interface().(type) {
		case time.Duration:
			out[f.Name] = x.String()
		case []string:
			out[f.Name] = append([]string{}, x...)
		default:
			out[f.Name] = x
		}
	})
	return out
}
