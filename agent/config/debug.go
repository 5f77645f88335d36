package config

import "maps"

// DebugExtras are the fields /v1/agent/self's DebugConfig reports for the
// keys agentd stores for Consul compatibility, under Consul's runtime
// names (Compat's, and those below).
func (c *Config) DebugExtras() map[string]any {
	out := c.Compat.Debug()
	meta := map[string]string{}
	maps.Copy(meta, c.NodeMeta)
	out["NodeMeta"] = meta
	out["PrimaryDatacenter"] = c.PrimaryDC()
	out["LogJSON"] = c.Log.JSON
	out["LogFile"] = c.Log.File
	out["LogRotateBytes"] = c.Log.RotateBytes
	out["LogRotateDuration"] = c.Log.RotateDuration.String()
	out["LogRotateMaxFiles"] = c.Log.RotateMaxFiles
	out["SerfBindAddrLAN"] = c.SerfBindLAN
	out["SerfBindAddrWAN"] = c.SerfBindWAN
	return out
}

// PrimaryDC is primary_datacenter, defaulting to the datacenter.
func (c *Config) PrimaryDC() string {
	if c.PrimaryDatacenter != "" {
		return c.PrimaryDatacenter
	}
	return c.Datacenter
}

// SerfBindIP is the LAN gossip listen address: serf_lan, else bind_addr.
func (c *Config) SerfBindIP() string {
	if c.SerfBindLAN != "" {
		return c.SerfBindLAN
	}
	return c.BindAddr
}
