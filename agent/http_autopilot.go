package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/agentd/agentd/store"
)

// /v1/operator/autopilot/configuration: the replicated autopilot
// configuration (store.AutopilotConfig), read in the default or stale
// mode and written through Raft, with ?cas=<ModifyIndex> as Consul's. The
// leader seeds it from the agent's autopilot.* keys the first time it
// leads (seedAutopilot); until then a read is Consul's 500 "autopilot
// config not initialized yet". Of its fields, agentd's dead-server cleanup
// uses CleanupDeadServers and MinQuorum, and the health endpoints
// LastContactThreshold and MaxTrailingLogs; the others are stored and
// returned.

// Consul's defaults for the fields agentd's configuration file does not
// set (agent/config/default.go).
const (
	defaultLastContactThreshold    = 200 * time.Millisecond
	defaultMaxTrailingLogs         = 250
	defaultServerStabilizationTime = 10 * time.Second
)

// jsonDuration is Consul's api.ReadableDuration: written as "10s", read
// from a duration string, a number of nanoseconds, or null.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch {
	case s == "null":
		return nil
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		v, err := time.ParseDuration(s[1 : len(s)-1])
		if err != nil {
			return err
		}
		*d = jsonDuration(v)
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*d = jsonDuration(v)
	}
	return nil
}

// autopilotJSON is Consul's api.AutopilotConfiguration.
type autopilotJSON struct {
	CleanupDeadServers      bool
	LastContactThreshold    jsonDuration
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime jsonDuration
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	CreateIndex             uint64
	ModifyIndex             uint64
}

func toAutopilotJSON(c *store.AutopilotConfig) autopilotJSON {
	return autopilotJSON{
		CleanupDeadServers: c.CleanupDeadServers, LastContactThreshold: jsonDuration(c.LastContactThreshold),
		MaxTrailingLogs: c.MaxTrailingLogs, MinQuorum: uint(c.MinQuorum),
		ServerStabilizationTime: jsonDuration(c.ServerStabilizationTime),
		RedundancyZoneTag:       c.RedundancyZoneTag, DisableUpgradeMigration: c.DisableUpgradeMigration,
		UpgradeVersionTag: c.UpgradeVersionTag, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}
}

func (a *Agent) autopilotConfiguration(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPut {
		return a.autopilotSetConfiguration(w, r)
	}
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	o.minIndex = 0 // not a blocking endpoint in Consul
	var cfg *store.AutopilotConfig
	meta, err := a.blockingRead(r, o, func(ws *store.WatchSet) (uint64, error) {
		idx, c := a.store.Autopilot(ws)
		cfg = c
		return idx, nil
	})
	if err != nil {
		return err
	}
	if cfg == nil {
		return errStatus(http.StatusInternalServerError, "autopilot config not initialized yet")
	}
	setMeta(w, meta)
	return writeJSON(w, toAutopilotJSON(cfg))
}

// autopilotSetConfiguration stores the body as the whole configuration
// (missing fields are zero, as Consul's handler builds it); with ?cas it
// answers whether the index matched.
func (a *Agent) autopilotSetConfiguration(w http.ResponseWriter, r *http.Request) error {
	var in autopilotJSON
	if err := decodeJSONBody(w, r, 64<<10, &in); err != nil {
		return err
	}
	op := &store.AutopilotSet{Config: store.AutopilotConfig{
		CleanupDeadServers: in.CleanupDeadServers, LastContactThreshold: time.Duration(in.LastContactThreshold),
		MaxTrailingLogs: in.MaxTrailingLogs, MinQuorum: uint64(in.MinQuorum),
		ServerStabilizationTime: time.Duration(in.ServerStabilizationTime),
		RedundancyZoneTag:       in.RedundancyZoneTag, DisableUpgradeMigration: in.DisableUpgradeMigration,
		UpgradeVersionTag: in.UpgradeVersionTag,
	}}
	if s := r.URL.Query().Get("cas"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errBadRequestf("Error parsing cas value: %v", err)
		}
		op.CAS, op.Index = true, n
	}
	res, err := a.apply(r.Context(), op)
	if err != nil {
		return err
	}
	return writeJSON(w, res.OK)
}

// seedAutopilot stores the configuration file's autopilot settings with
// Consul's defaults if no configuration is stored yet (check-and-set on
// index 0, so a concurrent operator write wins). Run by each new leader.
func (a *Agent) seedAutopilot(ctx context.Context, cfg autopilotConfig) {
	for ctx.Err() == nil {
		if _, c := a.store.Autopilot(nil); c != nil {
			return
		}
		_, err := a.apply(ctx, &store.AutopilotSet{CAS: true, Config: store.AutopilotConfig{
			CleanupDeadServers: cfg.cleanupDeadServers, MinQuorum: uint64(cfg.minQuorum),
			LastContactThreshold: defaultLastContactThreshold, MaxTrailingLogs: defaultMaxTrailingLogs,
			ServerStabilizationTime: defaultServerStabilizationTime,
		}})
		if err == nil {
			return
		}
		a.log.Warn("autopilot: storing the initial configuration failed; retrying", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// effectiveAutopilot is cfg with the stored configuration's cleanup
// settings, once there is one (an operator may have changed them).
func (a *Agent) effectiveAutopilot(cfg autopilotConfig) autopilotConfig {
	if _, c := a.store.Autopilot(nil); c != nil {
		cfg.cleanupDeadServers, cfg.minQuorum = c.CleanupDeadServers, int(c.MinQuorum)
	}
	return cfg
}

// autopilotThresholds are the health endpoints' limits: the stored ones,
// or Consul's defaults before a leader seeded them.
func (a *Agent) autopilotThresholds() (lastContact time.Duration, trailing uint64) {
	if _, c := a.store.Autopilot(nil); c != nil {
		return c.LastContactThreshold, c.MaxTrailingLogs
	}
	return defaultLastContactThreshold, defaultMaxTrailingLogs
}
