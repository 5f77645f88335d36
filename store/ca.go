package store

import (
	"slices"
	"strings"
	"time"
)

// Connect CA state: the CA configuration and the trusted roots, as
// Consul's built-in CA keeps them (its ca_config and ca_roots tables).
// The leader generates a root (key, certificate) outside the store and
// proposes it with CASet; apply only checks and stores, so every replica
// holds the same bytes. Both live under one table index (tableCA) and one
// watch topic (topicCA): every CA read depends on both.
//
//	CmdCASet  index uvarint | CA config row | count | CA root row * count
//
// Rows (append-only, rows.go conventions):
//
//	CAConfig  clusterID | provider | leafTTL varint ns | intermediateTTL |
//	          rootTTL | keyType | keyBits varint | createIndex | modifyIndex
//	CARoot    id | name | serial uvarint | signingKeyID | externalTrustDomain |
//	          notBefore time | notAfter time | rootCert | intermediates strs |
//	          signingKey | active bool | keyType | keyBits varint |
//	          createIndex | modifyIndex

// CAConfig is the replicated CA configuration (Consul's
// structs.CAConfiguration for the built-in "consul" provider).
type CAConfig struct {
	ClusterID string // UUID; the trust domain is ClusterID + ".consul"
	Provider  string // "consul"
	// TTLs of the provider's certificates. Only RootCertTTL is used yet
	// (the root's validity); the others are reported by the API.
	LeafCertTTL         time.Duration
	IntermediateCertTTL time.Duration
	RootCertTTL         time.Duration
	// PrivateKeyType and PrivateKeyBits as configured ("" and 0 when the
	// operator left Consul's defaults, ec/256, which the API then omits).
	PrivateKeyType string
	PrivateKeyBits int
	CreateIndex    uint64
	ModifyIndex    uint64
}

// TrustDomain is the SPIFFE trust domain of the cluster's certificates.
func (c *CAConfig) TrustDomain() string { return c.ClusterID + ".consul" }

// CARoot is one trusted root (Consul's structs.CARoot). SigningKey is the
// root's private key (PEM): stored and replicated, never returned by the
// read methods (CASigningKey is the only way to it).
type CARoot struct {
	ID                  string // SHA-1 fingerprint of the certificate, colon-hex
	Name                string
	SerialNumber        uint64
	SigningKeyID        string // colon-hex SubjectKeyId of the signing certificate
	ExternalTrustDomain string // the cluster ID the root was generated under
	NotBefore           time.Time
	NotAfter            time.Time
	RootCert            string   // PEM
	IntermediateCerts   []string // PEM each; nil for the built-in provider's primary
	SigningKey          string   // PEM private key; secret
	Active              bool
	PrivateKeyType      string // "ec" or "rsa"
	PrivateKeyBits      int
	CreateIndex         uint64
	ModifyIndex         uint64
}

// CASet replaces the CA configuration and the whole root list, if the
// current configuration's ModifyIndex is Index (0: no configuration yet),
// as Consul's set-roots-config with its check-and-set. Exactly one root
// must be active. Indexes in the rows are ignored: the apply sets them
// (a root already present under the same ID keeps its CreateIndex).
type CASet struct {
	Index  uint64
	Config CAConfig
	Roots  []CARoot
}

func (*CASet) Type() CmdType { return CmdCASet }

func (o *CASet) encode(e *encoder) {
	e.uvarint(o.Index)
	e.caConfig(&o.Config)
	e.uvarint(uint64(len(o.Roots)))
	for i := range o.Roots {
		e.caRoot(&o.Roots[i])
	}
}

func (d *decoder) caSet() *CASet {
	o := &CASet{Index: d.uvarint(), Config: *d.caConfig()}
	if n := d.length(maxListLen, 15); n > 0 {
		o.Roots = make([]CARoot, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			o.Roots = append(o.Roots, *d.caRoot())
		}
	}
	return o
}

// caSet applies a CASet. Checks are on the command alone and the current
// configuration's index: deterministic.
func (x *tx) caSet(o *CASet) error {
	var cur uint64
	if x.t.caConfig != nil {
		cur = x.t.caConfig.ModifyIndex
	}
	if o.Index != cur {
		return rejected("CA configuration changed (index %d, expected %d)", cur, o.Index)
	}
	if o.Config.ClusterID == "" || o.Config.Provider == "" {
		return rejected("CA configuration needs a cluster ID and a provider")
	}
	if len(o.Roots) == 0 {
		return rejected("CA roots: at least one root is required")
	}
	active := 0
	for i, r := range o.Roots {
		if r.ID == "" || r.RootCert == "" {
			return rejected("CA root %d: missing ID or certificate", i)
		}
		if r.Active {
			active++
		}
	}
	if active != 1 {
		return rejected("CA roots: exactly one root must be active, got %d", active)
	}
	cfg := o.Config
	cfg.CreateIndex, cfg.ModifyIndex = x.index, x.index
	if x.t.caConfig != nil {
		cfg.CreateIndex = x.t.caConfig.CreateIndex
	}
	roots := make([]*CARoot, 0, len(o.Roots))
	for _, r := range o.Roots {
		r.CreateIndex, r.ModifyIndex = x.index, x.index
		if old := findRoot(x.t.caRoots, r.ID); old != nil {
			r.CreateIndex = old.CreateIndex
		}
		r.IntermediateCerts = slices.Clone(r.IntermediateCerts)
		if len(r.IntermediateCerts) == 0 {
			r.IntermediateCerts = nil // one spelling of "none", as a snapshot decodes it
		}
		roots = append(roots, &r)
	}
	slices.SortFunc(roots, func(a, b *CARoot) int { return strings.Compare(a.ID, b.ID) })
	for i := 1; i < len(roots); i++ {
		if roots[i].ID == roots[i-1].ID {
			return rejected("CA roots: duplicate root ID %q", roots[i].ID)
		}
	}
	// Fresh values: the published config and slice are never modified.
	x.t.caConfig = &cfg
	x.t.caRoots = roots
	x.touch(tableCA, topicCA, "")
	return nil
}

func findRoot(roots []*CARoot, id string) *CARoot {
	for _, r := range roots {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// CARoots returns the CA configuration (nil before the leader bootstrapped
// it) and the roots in ID order, without their private keys. The index is
// the CA table's (>= 1); ws watches the CA configuration and roots.
func (s *Store) CARoots(ws *WatchSet) (uint64, *CAConfig, []*CARoot) {
	t := s.view(ws, topicCA, "", true)
	var cfg *CAConfig
	if t.caConfig != nil {
		cp := *t.caConfig
		cfg = &cp
	}
	out := make([]*CARoot, 0, len(t.caRoots))
	for _, r := range t.caRoots {
		cp := *r
		cp.SigningKey = ""
		cp.IntermediateCerts = slices.Clone(r.IntermediateCerts)
		out = append(out, &cp)
	}
	return atLeastOne(t.index[tableCA]), cfg, out
}

// CASigningKey returns the private key (PEM) of root id, or "" if there
// is no such root. For signing on the leader; never for an API answer.
func (s *Store) CASigningKey(id string) string {
	if r := findRoot(s.state.Load().caRoots, id); r != nil {
		return r.SigningKey
	}
	return ""
}

func (e *encoder) caConfig(v *CAConfig) {
	e.str(v.ClusterID)
	e.str(v.Provider)
	e.varint(int64(v.LeafCertTTL))
	e.varint(int64(v.IntermediateCertTTL))
	e.varint(int64(v.RootCertTTL))
	e.str(v.PrivateKeyType)
	e.varint(int64(v.PrivateKeyBits))
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) caConfig() *CAConfig {
	return &CAConfig{
		ClusterID:           d.str(),
		Provider:            d.str(),
		LeafCertTTL:         time.Duration(d.varint()),
		IntermediateCertTTL: time.Duration(d.varint()),
		RootCertTTL:         time.Duration(d.varint()),
		PrivateKeyType:      d.str(),
		PrivateKeyBits:      int(d.varint()),
		CreateIndex:         d.uvarint(),
		ModifyIndex:         d.uvarint(),
	}
}

func (e *encoder) caRoot(v *CARoot) {
	e.str(v.ID)
	e.str(v.Name)
	e.uvarint(v.SerialNumber)
	e.str(v.SigningKeyID)
	e.str(v.ExternalTrustDomain)
	e.time(v.NotBefore)
	e.time(v.NotAfter)
	e.str(v.RootCert)
	e.strs(v.IntermediateCerts)
	e.str(v.SigningKey)
	e.bool1(v.Active)
	e.str(v.PrivateKeyType)
	e.varint(int64(v.PrivateKeyBits))
	e.uvarint(v.CreateIndex)
	e.uvarint(v.ModifyIndex)
}

func (d *decoder) caRoot() *CARoot {
	return &CARoot{
		ID:                  d.str(),
		Name:                d.str(),
		SerialNumber:        d.uvarint(),
		SigningKeyID:        d.str(),
		ExternalTrustDomain: d.str(),
		NotBefore:           d.time(),
		NotAfter:            d.time(),
		RootCert:            d.str(),
		IntermediateCerts:   d.strs(),
		SigningKey:          d.str(),
		Active:              d.bool1(),
		PrivateKeyType:      d.str(),
		PrivateKeyBits:      int(d.varint()),
		CreateIndex:         d.uvarint(),
		ModifyIndex:         d.uvarint(),
	}
}

// caRecords writes the CA state as snapshot records: the configuration,
// then the roots in ID order.
func (t *tables) caRecords(rec func(recordKind, func(*encoder)) bool) {
	if t.caConfig != nil && !rec(recCAConfig, func(e *encoder) { e.caConfig(t.caConfig) }) {
		return
	}
	for _, r := range t.caRoots {
		if !rec(recCARoot, func(e *encoder) { e.caRoot(r) }) {
			return
		}
	}
}

// loadCARecord inserts a recCAConfig or recCARoot record; it reports a
// duplicate (a second configuration, or a root ID not after the last one).
func (t *tables) loadCARecord(kind recordKind, d *decoder) (dup bool) {
	switch kind {
	case recCAConfig:
		v := d.caConfig()
		if d.err == nil {
			dup = t.caConfig != nil
			t.caConfig = v
		}
	case recCARoot:
		v := d.caRoot()
		if d.err == nil {
			// Written in ID order: anything else is corruption, and
			// keeping the order keeps encode(decode(b)) == b.
			if n := len(t.caRoots); n > 0 && t.caRoots[n-1].ID >= v.ID {
				return true
			}
			t.caRoots = append(t.caRoots, v)
		}
	}
	return dup
}

// restoreCA copies src's CA state into t (RestoreState) with indexes moved
// to idx, as every other row.
func (t *tables) restoreCA(src *tables, idx uint64) {
	if src.caConfig != nil {
		cp := *src.caConfig
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.caConfig = &cp
	}
	for _, r := range src.caRoots {
		cp := *r
		cp.CreateIndex, cp.ModifyIndex = min(cp.CreateIndex, idx), idx
		t.caRoots = append(t.caRoots, &cp)
	}
}
