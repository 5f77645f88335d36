package config

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// Consul: datacenter names are alphanumerics, - and _.
	dcRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// invalid formats an error naming the key.
func invalid(key, format string, args ...any) error {
	return fmt.Errorf("config: invalid value for %q: %s", key, fmt.Sprintf(format, args...))
}

func (c *Config) validate() error {
	if c.NodeName == "" {
		return invalid("node_name", "must not be empty")
	}
	if c.NodeID != "" && !uuidRE.MatchString(c.NodeID) {
		return invalid("node_id", "must be a UUID, got %q", c.NodeID)
	}
	if !dcRE.MatchString(c.Datacenter) {
		return invalid("datacenter", "must be alphanumerics, '-' and '_', got %q", c.Datacenter)
	}
	if !c.DevMode && c.DataDir == "" {
		return invalid("data_dir", "required (or use -dev)")
	}
	if c.BootstrapExpect < 0 {
		return invalid("bootstrap_expect", "must be >= 0, got %d", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 0 && !c.Server {
		return invalid("bootstrap_expect", "requires server mode")
	}
	if c.Bootstrap && !c.Server {
		return invalid("bootstrap", "requires server mode")
	}
	if c.Bootstrap && c.BootstrapExpect > 0 {
		return invalid("bootstrap_expect", "cannot be combined with bootstrap")
	}
	for _, a := range []struct{ key, v string }{
		{"bind_addr", c.BindAddr}, {"client_addr", c.ClientAddr}, {"advertise_addr", c.AdvertiseAddr},
		{"addresses.http", c.Addresses.HTTP}, {"addresses.https", c.Addresses.HTTPS},
		{"addresses.grpc", c.Addresses.GRPC}, {"addresses.dns", c.Addresses.DNS},
		{"advertise_addr_wan", c.AdvertiseAddrWAN}, {"serf_lan", c.SerfBindLAN}, {"serf_wan", c.SerfBindWAN},
	} {
		if a.v != "" && net.ParseIP(a.v) == nil {
			return invalid(a.key, "must be an IP address, got %q", a.v)
		}
	}
	if c.BindAddr == "" {
		return invalid("bind_addr", "must not be empty")
	}
	if c.ClientAddr == "" {
		return invalid("client_addr", "must not be empty")
	}
	for _, p := range []struct {
		key     string
		v       int
		disable bool // -1 allowed
	}{
		{"ports.http", c.Ports.HTTP, true}, {"ports.https", c.Ports.HTTPS, true},
		{"ports.grpc", c.Ports.GRPC, true}, {"ports.dns", c.Ports.DNS, true},
		{"ports.serf_lan", c.Ports.SerfLAN, false}, {"ports.serf_wan", c.Ports.SerfWAN, true},
		{"ports.server", c.Ports.Server, false},
	} {
		if (p.v == -1 && p.disable) || (p.v >= 0 && p.v <= 65535) {
			continue
		}
		return invalid(p.key, "must be a port number (0-65535, or -1 to disable), got %d", p.v)
	}
	if c.Encrypt != "" {
		k, err := base64.StdEncoding.DecodeString(c.Encrypt)
		if err != nil || (len(k) != 16 && len(k) != 24 && len(k) != 32) {
			return invalid("encrypt", "must be base64 of a 16, 24 or 32 byte key")
		}
	}
	if _, ok := ParseLogLevel(c.LogLevel); !ok {
		return invalid("log_level", "must be trace, debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.RaftMultiplier < 1 || c.RaftMultiplier > 10 {
		return invalid("performance.raft_multiplier", "must be between 1 and 10, got %d", c.RaftMultiplier)
	}
	if c.HTTPMaxConnsPerClient < 0 {
		return invalid("limits.http_max_conns_per_client", "must be >= 0 (0: unlimited), got %d", c.HTTPMaxConnsPerClient)
	}
	if c.RaftSnapshotThreshold < 1 {
		return invalid("raft_snapshot_threshold", "must be >= 1, got %d", c.RaftSnapshotThreshold)
	}
	if c.RaftSnapshotInterval <= 0 {
		return invalid("raft_snapshot_interval", "must be > 0, got %s", c.RaftSnapshotInterval)
	}
	if c.RaftTrailingLogs < 0 {
		return invalid("raft_trailing_logs", "must be >= 0, got %d", c.RaftTrailingLogs)
	}
	if c.RaftWALSegmentSizeMB < 1 || c.RaftWALSegmentSizeMB > 1024 {
		return invalid("raft_logstore.wal.segment_size_mb", "must be between 1 and 1024, got %d", c.RaftWALSegmentSizeMB)
	}
	if c.SessionTTLMin <= 0 {
		return invalid("session_ttl_min", "must be > 0, got %s", c.SessionTTLMin)
	}
	if c.Autopilot.MinQuorum < 0 {
		return invalid("autopilot.min_quorum", "must be >= 0, got %d", c.Autopilot.MinQuorum)
	}
	if err := validateNodeMeta(c.NodeMeta); err != nil {
		return err
	}
	if c.Log.RotateBytes < 0 {
		return invalid("log_rotate_bytes", "must be >= 0, got %d", c.Log.RotateBytes)
	}
	if c.Log.RotateDuration < 0 {
		return invalid("log_rotate_duration", "must be >= 0, got %s", c.Log.RotateDuration)
	}
	if c.Log.RotateMaxFiles < -1 {
		return invalid("log_rotate_max_files", "must be >= -1, got %d", c.Log.RotateMaxFiles)
	}
	if err := c.Connect.validate(); err != nil {
		return err
	}
	for i, j := range c.RetryJoin {
		if strings.TrimSpace(j) == "" {
			return invalid("retry_join", "element %d is empty", i)
		}
	}
	return nil
}

// metaKeyRE is the form of a node_meta key (Consul's metaKeyFormat).
var metaKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validateNodeMeta applies Consul's limits on node metadata
// (structs.ValidateNodeMetadata): at most 64 pairs, keys of at most 128
// letters, digits, '-' and '_' not starting with "consul-", values of at
// most 512 bytes.
func validateNodeMeta(m map[string]string) error {
	if len(m) > 64 {
		return invalid("node_meta", "Node metadata cannot contain more than 64 key/value pairs")
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch {
		case k == "":
			return invalid("node_meta", "Key cannot be blank")
		case !metaKeyRE.MatchString(k):
			return invalid("node_meta", "Key contains invalid characters: %q", k)
		case len(k) > 128:
			return invalid("node_meta", "Key is too long (limit: 128 characters): %q", k)
		case strings.HasPrefix(k, "consul-"):
			return invalid("node_meta", "Key prefix 'consul-' is reserved for internal use: %q", k)
		case len(m[k]) > 512:
			return invalid("node_meta", "Value is too long (limit: 512 characters): key %q", k)
		}
	}
	return nil
}

// validate applies the checks of Consul's CA configuration (its
// CommonCAProviderConfig.Validate and cluster_id parsing) at load time,
// where Consul finds them only when the leader sets the CA up.
func (c *Connect) validate() error {
	const pre = "connect.ca_config."
	if c.CAProvider != "consul" {
		return invalid("connect.ca_provider", "only the built-in \"consul\" provider is supported, got %q", c.CAProvider)
	}
	ca := &c.CA
	if ca.ClusterID != "" && !uuidRE.MatchString(ca.ClusterID) {
		return invalid(pre+"cluster_id", "cluster_id was supplied but was not a valid UUID")
	}
	switch {
	case ca.LeafCertTTL < time.Hour:
		return invalid(pre+"leaf_cert_ttl", "leaf cert TTL must be greater or equal than 1h0m0s")
	case ca.LeafCertTTL > 365*24*time.Hour:
		return invalid(pre+"leaf_cert_ttl", "leaf cert TTL must be less than 8760h0m0s")
	case ca.IntermediateCertTTL < 3*time.Hour:
		return invalid(pre+"intermediate_cert_ttl", "Intermediate Cert TTL must be greater or equal than 3h")
	case ca.IntermediateCertTTL < 3*ca.LeafCertTTL:
		return invalid(pre+"intermediate_cert_ttl", "Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=%s).", 3*ca.LeafCertTTL)
	case ca.RootCertTTL < ca.IntermediateCertTTL:
		return invalid(pre+"root_cert_ttl", "root cert TTL is set and is not greater than intermediate cert ttl. root cert ttl: %s, intermediate cert ttl: %s", ca.RootCertTTL, ca.IntermediateCertTTL)
	}
	switch ca.PrivateKeyType {
	case "", "ec":
		if b := ca.PrivateKeyBits; b != 0 && b != 224 && b != 256 && b != 384 && b != 521 {
			return invalid(pre+"private_key_bits", "EC key length must be one of (224, 256, 384, 521) bits")
		}
	case "rsa":
		if b := ca.PrivateKeyBits; b != 0 && b != 2048 && b != 4096 {
			return invalid(pre+"private_key_bits", "RSA key length must be 2048 or 4096 bits")
		}
	default:
		return invalid(pre+"private_key_type", "private key type must be either 'ec' or 'rsa'")
	}
	return nil
}
