package config

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// setter stores one key's value into c. v is what encoding/json produced
// (string, float64/json.Number, bool, []any, map[string]any) or, for a
// flag, a string. Setters are lenient about representation as Consul is
// ("5" and 5 are both a number) and strict about meaning.
type setter func(c *Config, v any) error

// sections are the keys whose value is an object of further keys.
var sections = map[string]bool{
	"ports": true, "addresses": true, "performance": true, "limits": true,
	"raft_logstore": true, "raft_logstore.wal": true, "autopilot": true,
	"connect": true, "connect.ca_config": true, "telemetry": true,
	"ui_config": true, "http_config": true,
}

// keys maps every known dotted key to its setter.
var keys = map[string]setter{
	"node_name":            strKey(func(c *Config) *string { return &c.NodeName }),
	"node_id":              strKey(func(c *Config) *string { return &c.NodeID }),
	"datacenter":           strKey(func(c *Config) *string { return &c.Datacenter }),
	"data_dir":             strKey(func(c *Config) *string { return &c.DataDir }),
	"server":               boolKey(func(c *Config) *bool { return &c.Server }),
	"bootstrap":            boolKey(func(c *Config) *bool { return &c.Bootstrap }),
	"bootstrap_expect":     intKey(func(c *Config) *int { return &c.BootstrapExpect }),
	"bind_addr":            strKey(func(c *Config) *string { return &c.BindAddr }),
	"client_addr":          strKey(func(c *Config) *string { return &c.ClientAddr }),
	"advertise_addr":       strKey(func(c *Config) *string { return &c.AdvertiseAddr }),
	"retry_join":           listKey(func(c *Config) *[]string { return &c.RetryJoin }),
	"start_join":           listKey(func(c *Config) *[]string { return &c.StartJoin }),
	"retry_interval":       durKey(func(c *Config) *time.Duration { return &c.RetryInterval }),
	"retry_max":            intKey(func(c *Config) *int { return &c.RetryMax }),
	"pid_file":             strKey(func(c *Config) *string { return &c.PidFile }),
	"ui":                   boolKey(func(c *Config) *bool { return &c.UI }),
	"ui_config.enabled":    boolKey(func(c *Config) *bool { return &c.UI }),
	"disable_host_node_id": boolKey(func(c *Config) *bool { return &c.DisableHostNodeID }),
	"encrypt":              strKey(func(c *Config) *string { return &c.Encrypt }),
	"log_level":            strKey(func(c *Config) *string { return &c.LogLevel }),
	"node_meta":            mapKey(func(c *Config) *map[string]string { return &c.NodeMeta }),
	"primary_datacenter":   strKey(func(c *Config) *string { return &c.PrimaryDatacenter }),
	"advertise_addr_wan":   strKey(func(c *Config) *string { return &c.AdvertiseAddrWAN }),
	"serf_lan":             strKey(func(c *Config) *string { return &c.SerfBindLAN }),
	"serf_wan":             strKey(func(c *Config) *string { return &c.SerfBindWAN }),
	"log_json":             boolKey(func(c *Config) *bool { return &c.Log.JSON }),
	"log_file":             strKey(func(c *Config) *string { return &c.Log.File }),
	"log_rotate_bytes":     intKey(func(c *Config) *int { return &c.Log.RotateBytes }),
	"log_rotate_duration":  durKey(func(c *Config) *time.Duration { return &c.Log.RotateDuration }),
	"log_rotate_max_files": intKey(func(c *Config) *int { return &c.Log.RotateMaxFiles }),

	"ports.http":     intKey(func(c *Config) *int { return &c.Ports.HTTP }),
	"ports.https":    intKey(func(c *Config) *int { return &c.Ports.HTTPS }),
	"ports.grpc":     intKey(func(c *Config) *int { return &c.Ports.GRPC }),
	"ports.dns":      intKey(func(c *Config) *int { return &c.Ports.DNS }),
	"ports.serf_lan": intKey(func(c *Config) *int { return &c.Ports.SerfLAN }),
	"ports.serf_wan": intKey(func(c *Config) *int { return &c.Ports.SerfWAN }),
	"ports.server":   intKey(func(c *Config) *int { return &c.Ports.Server }),

	"addresses.http":  strKey(func(c *Config) *string { return &c.Addresses.HTTP }),
	"addresses.https": strKey(func(c *Config) *string { return &c.Addresses.HTTPS }),
	"addresses.grpc":  strKey(func(c *Config) *string { return &c.Addresses.GRPC }),
	"addresses.dns":   strKey(func(c *Config) *string { return &c.Addresses.DNS }),

	"performance.raft_multiplier":          intKey(func(c *Config) *int { return &c.RaftMultiplier }),
	"limits.http_max_conns_per_client":     intKey(func(c *Config) *int { return &c.HTTPMaxConnsPerClient }),
	"enable_debug":                         boolKey(func(c *Config) *bool { return &c.EnableDebug }),
	"disable_http_unprintable_char_filter": boolKey(func(c *Config) *bool { return &c.DisableHTTPUnprintableCharFilter }),

	"leave_on_terminate":      boolPtrKey(func(c *Config) **bool { return &c.LeaveOnTerminate }),
	"skip_leave_on_interrupt": boolPtrKey(func(c *Config) **bool { return &c.SkipLeaveOnInterrupt }),

	"raft_snapshot_threshold": intKey(func(c *Config) *int { return &c.RaftSnapshotThreshold }),
	"raft_snapshot_interval":  durKey(func(c *Config) *time.Duration { return &c.RaftSnapshotInterval }),
	"raft_trailing_logs":      intKey(func(c *Config) *int { return &c.RaftTrailingLogs }),
	"session_ttl_min":         durKey(func(c *Config) *time.Duration { return &c.SessionTTLMin }),

	"raft_logstore.wal.segment_size_mb": intKey(func(c *Config) *int { return &c.RaftWALSegmentSizeMB }),

	"telemetry.prometheus_retention_time": durKey(func(c *Config) *time.Duration { return &c.PrometheusRetention }),
	"telemetry.disable_hostname":          boolKey(func(c *Config) *bool { return &c.DisableHostname }),

	"autopilot.cleanup_dead_servers": boolKey(func(c *Config) *bool { return &c.Autopilot.CleanupDeadServers }),
	"autopilot.min_quorum":           intKey(func(c *Config) *int { return &c.Autopilot.MinQuorum }),

	"connect.enabled":                         boolKey(func(c *Config) *bool { return &c.Connect.Enabled }),
	"connect.ca_provider":                     strKey(func(c *Config) *string { return &c.Connect.CAProvider }),
	"connect.ca_config.cluster_id":            strKey(func(c *Config) *string { return &c.Connect.CA.ClusterID }),
	"connect.ca_config.leaf_cert_ttl":         durKey(func(c *Config) *time.Duration { return &c.Connect.CA.LeafCertTTL }),
	"connect.ca_config.intermediate_cert_ttl": durKey(func(c *Config) *time.Duration { return &c.Connect.CA.IntermediateCertTTL }),
	"connect.ca_config.root_cert_ttl":         durKey(func(c *Config) *time.Duration { return &c.Connect.CA.RootCertTTL }),
	"connect.ca_config.private_key_type":      strKey(func(c *Config) *string { return &c.Connect.CA.PrivateKeyType }),
	"connect.ca_config.private_key_bits":      intKey(func(c *Config) *int { return &c.Connect.CA.PrivateKeyBits }),
}

func strKey(field func(*Config) *string) setter {
	return func(c *Config, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", describe(v))
		}
		*field(c) = s
		return nil
	}
}

func intKey(field func(*Config) *int) setter {
	return func(c *Config, v any) error {
		n, err := toInt(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

func boolKey(field func(*Config) *bool) setter {
	return func(c *Config, v any) error {
		b, err := toBool(v)
		if err != nil {
			return err
		}
		*field(c) = b
		return nil
	}
}

func boolPtrKey(field func(*Config) **bool) setter {
	return func(c *Config, v any) error {
		b, err := toBool(v)
		if err != nil {
			return err
		}
		*field(c) = &b
		return nil
	}
}

// durKey takes a Go duration string ("30s"); a bare number is seconds.
func durKey(field func(*Config) *time.Duration) setter {
	return func(c *Config, v any) error {
		switch x := v.(type) {
		case string:
			d, err := time.ParseDuration(x)
			if err != nil {
				return fmt.Errorf("want a duration such as \"30s\", got %q", x)
			}
			*field(c) = d
		case float64, json.Number:
			n, err := toInt(v)
			if err != nil {
				return err
			}
			*field(c) = time.Duration(n) * time.Second
		default:
			return fmt.Errorf("want a duration, got %s", describe(v))
		}
		return nil
	}
}

// listKey takes a list of strings; a single string is a one-element list
// (a repeated flag arrives as one string per occurrence and appends).
func listKey(field func(*Config) *[]string) setter {
	return func(c *Config, v any) error {
		switch x := v.(type) {
		case string:
			*field(c) = append(*field(c), x)
		case []any:
			var out []string
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("element %d: want a string, got %s", i, describe(e))
				}
				out = append(out, s)
			}
			// Consul appends slices across sources.
			*field(c) = append(*field(c), out...)
		default:
			return fmt.Errorf("want a list of strings, got %s", describe(v))
		}
		return nil
	}
}

// mapKey takes an object of strings (a file's node_meta) or, from a flag,
// one "key:value" (Consul's -node-meta: split at the first colon, both
// sides trimmed, a missing value is ""). Sources merge key by key.
func mapKey(field func(*Config) *map[string]string) setter {
	return func(c *Config, v any) error {
		m := *field(c)
		if m == nil {
			m = map[string]string{}
		}
		switch x := v.(type) {
		case string:
			k, val, _ := strings.Cut(x, ":")
			m[strings.TrimSpace(k)] = strings.TrimSpace(val)
		case map[string]any:
			for k, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("%q: want a string, got %s", k, describe(e))
				}
				m[k] = s
			}
		default:
			return fmt.Errorf("want an object of strings, got %s", describe(v))
		}
		*field(c) = m
		return nil
	}
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x > math.MaxInt32 || x < math.MinInt32 {
			return 0, fmt.Errorf("want an integer, got %v", x)
		}
		return int(x), nil
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %s", x)
		}
		return int(n), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", x)
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("want an integer, got %s", describe(v))
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(x)
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %s", describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
