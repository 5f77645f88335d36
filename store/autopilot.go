package store

import "time"

// Autopilot configuration, replicated as Consul keeps it (its autopilot
// config table): the leader seeds it from the agent's configuration file
// the first time it leads, and operators change it through
// /v1/operator/autopilot/configuration, optionally check-and-set on
// ModifyIndex. One row, its own table index (tableAutopilot) and watch
// topic (topicAutopilot).
//
//	CmdAutopilotSet  cas bool | index uvarint | autopilot row
//
//	Autopilot row  cleanupDeadServers bool | lastContactThreshold varint ns |
//	               maxTrailingLogs uvarint | minQuorum uvarint |
//	               serverStabilizationTime varint ns | redundancyZoneTag |
//	               disableUpgradeMigration bool | upgradeVersionTag |
//	               createIndex | modifyIndex

// AutopilotConfig is Consul's structs.AutopilotConfig.
type AutopilotConfig struct {
	CleanupDeadServers      bool
	LastContactThreshold    time.Duration
	MaxTrailingLogs         uint64
	MinQuorum               uint64
	ServerStabilizationTime time.Duration
	RedundancyZoneTag       string // enterprise in Consul; stored, unused
	DisableUpgradeMigration bool   // enterprise in Consul; stored, unused
	UpgradeVersionTag       string // enterprise in Consul; stored, unused
	CreateIndex             uint64
	ModifyIndex             uint64
}

// AutopilotSet stores Config. With CAS it applies only if the current
// row's ModifyIndex is Index (0: no row yet), and Result.OK says whether
// it did, as Consul's ?cas; without, it always applies. The apply sets
// the row's indexes.
type AutopilotSet struct {
	CAS    bool
	Index  uint64
	Config AutopilotConfig
}

func (*AutopilotSet) Type() CmdType { return CmdAutopilotSet }

func (o *AutopilotSet) encode(e *encoder) {
	e.bool1(o.CAS)
	e.uvarint(o.Index)
	e.autopilot(&o.Config)
}

func (d *decoder) autopilotSet() *AutopilotSet {
	return &AutopilotSet{CAS: d.bool1(), Index: d.uvarint(), Config: *d.autopilot()}
}

// autopilotSet applies an AutopilotSet; it reports whether it wrote.
func (x *tx) autopilotSet(o *AutopilotSet) bool {
	var cur uint64
	if x.t.autopilot != nil {
		cur = x.t.autopilot.ModifyIndex
	}
	if o.CAS && o.Index != cur {
		return false
	}
	cfg := o.Config
	cfg.CreateIndex, cfg.ModifyIndex = x.index, x.index
	if x.t.autopilot != nil {
		cfg.CreateIndex = x.t.autopilot.CreateIndex
	}
	x.t.autopilot = &cfg // a fresh value: the published row is never modified
	x.touch(tableAutopilot, topicAutopilot, "")
	return true
}

// Autopilot returns a copy of the autopilot configuration (nil before a
// leader seeded it) and the autopilot table's index (>= 1); ws watches it.
func (s *Store) Autopilot(ws *WatchSet) (uint64, *AutopilotConfig) {
	t := s.view(ws, topicAutopilot, "", true)
	if t.autopilot == nil {
		return atLeastOne(t.index[tableAutopilot]), nil
	}
	cp := *t.autopilot
	return atLeastOne(t.index[tableAutopilot]), &cp
}

func (e *encoder) autopilot(v *AutopilotConfig) {
	e.bool1(v.CleanupDeadServers)
	e.varint(int64(v.LastContactThreshold))
	e.uvarint(v.MaxTrailingLogs)
	e.uvarint(v.MinQuorum)
	e.varint(int64(v.ServerStabilizationTime))
	e.str(v.RedundancyZoneTag)
	e.bool1(v.DisableUpgradeMigration)
	e.str(v.UpgradeVersionTag)
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) autopilot() *AutopilotConfig {
	return &AutopilotConfig{
		CleanupDeadServers:      d.bool1(),
		LastContactThreshold:    time.Duration(d.varint()),
		MaxTrailingLogs:         d.uvarint(),
		MinQuorum:               d.uvarint(),
		ServerStabilizationTime: time.Duration(d.varint()),
		RedundancyZoneTag:       d.str(),
		DisableUpgradeMigration: d.bool1(),
		UpgradeVersionTag:       d.str(),
		CreateIndex:             d.uvarint(),
		ModifyIndex:             d.uvarint(),
	}
}

// autopilotRecords writes the row as a snapshot record.
func (t *tables) autopilotRecords(rec func(recordKind, func(*encoder)) bool) {
	if t.autopilot != nil {
		rec(recAutopilot, func(e *encoder) { e.autopilot(t.autopilot) })
	}
}

// loadAutopilotRecord inserts a recAutopilot record; a second is a
// duplicate.
func (t *tables) loadAutopilotRecord(d *decoder) (dup bool) {
	v := d.autopilot()
	if d.err != nil {
		return false
	}
	dup = t.autopilot != nil
	t.autopilot = v
	return dup
}

// restoreAutopilot copies src's row into t (RestoreState) with its
// indexes moved to idx, as every other row.
func (t *tables) restoreAutopilot(src *tables, idx uint64) {
	if src.autopilot != nil {
		cp := *src.autopilot
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.autopilot = &cp
	}
}
