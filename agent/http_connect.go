package agent

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentd/agentd/store"
)

// Connect CA reads: the roots (Consul's /v1/agent/connect/ca/roots and
// /v1/connect/ca/roots, api.CARootList) and the CA configuration
// (/v1/connect/ca/configuration GET). Nothing else of Connect.

// caRootJSON is Consul's CARoot as its roots endpoints show it: every
// field but the signing key and certificate, which never leave the store.
type caRootJSON struct {
	ID                  string
	Name                string
	SerialNumber        uint64
	SigningKeyID        string
	ExternalTrustDomain string
	NotBefore           time.Time
	NotAfter            time.Time
	RootCert            string
	IntermediateCerts   []string
	Active              bool
	PrivateKeyType      string
	PrivateKeyBits      int
	CreateIndex         uint64
	ModifyIndex         uint64
}

// caRootsJSON is Consul's IndexedCARoots body.
type caRootsJSON struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []caRootJSON
}

func toCARootsJSON(cfg *store.CAConfig, roots []*store.CARoot) caRootsJSON {
	out := caRootsJSON{TrustDomain: cfg.TrustDomain(), Roots: make([]caRootJSON, 0, len(roots))}
	for _, r := range roots {
		if r.Active {
			out.ActiveRootID = r.ID
		}
		out.Roots = append(out.Roots, caRootJSON{
			ID: r.ID, Name: r.Name, SerialNumber: r.SerialNumber, SigningKeyID: r.SigningKeyID,
			ExternalTrustDomain: r.ExternalTrustDomain, NotBefore: r.NotBefore, NotAfter: r.NotAfter,
			RootCert: r.RootCert, IntermediateCerts: r.IntermediateCerts, Active: r.Active,
			PrivateKeyType: r.PrivateKeyType, PrivateKeyBits: r.PrivateKeyBits,
			CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex,
		})
	}
	return out
}

// agentConnectCARoots serves /v1/agent/connect/ca/roots. Consul answers
// it from the agent's cache and says so in X-Cache; agentd reads the
// store, so every answer is a miss.
func (a *Agent) agentConnectCARoots(w http.ResponseWriter, r *http.Request) error {
	return a.caRoots(w, r, true)
}

// connectCARoots serves /v1/connect/ca/roots. With ?pem=true the body is
// the roots' certificates (and any intermediates) as one PEM chain
// (RFC 8555's application/pem-certificate-chain), as Consul's; a ?pem
// that is not a boolean is its 400, checked first.
func (a *Agent) connectCARoots(w http.ResponseWriter, r *http.Request) error {
	pemChain := false
	if s := r.URL.Query().Get("pem"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errBadRequestf("The 'pem' query parameter must be a boolean value")
		}
		pemChain = v
	}
	if !pemChain {
		return a.caRoots(w, r, false)
	}
	return a.caRoots(&pemWriter{ResponseWriter: w}, r, false)
}

// pemWriter turns the roots' JSON answer into the PEM chain.
type pemWriter struct{ http.ResponseWriter }

func (p *pemWriter) writeRoots(out caRootsJSON) error {
	p.Header().Set("Content-Type", "application/pem-certificate-chain")
	var b strings.Builder
	for _, r := range out.Roots {
		b.WriteString(r.RootCert)
		for _, c := range r.IntermediateCerts {
			b.WriteString(c)
		}
	}
	_, err := io.WriteString(p.ResponseWriter, b.String())
	return err
}

// caRoots is a blocking read of the roots: ?index waits for a change of
// the CA configuration or roots. Before the leader stored a CA it is
// Consul's 500 "CA has not finished initializing" (clients retry).
func (a *Agent) caRoots(w http.ResponseWriter, r *http.Request, agentCache bool) error {
	if !a.cfg.Connect.Enabled {
		return errConnectDisabled
	}
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	var out caRootsJSON
	meta, err := a.blockingRead(r, o, func(ws *store.WatchSet) (uint64, error) {
		idx, cfg, roots := a.store.CARoots(ws)
		if cfg == nil {
			return 0, errCANotInitialized
		}
		out = toCARootsJSON(cfg, roots)
		return idx, nil
	})
	if err != nil {
		return err
	}
	setMeta(w, meta)
	if agentCache {
		w.Header().Set("X-Cache", "MISS")
	}
	if p, ok := w.(*pemWriter); ok {
		return p.writeRoots(out)
	}
	return writeJSON(w, out)
}

// caConfigJSON is Consul's CAConfiguration body for the built-in
// provider. Config holds what the store holds: the three TTLs, spelled as
// Consul's defaults ("72h"), and the key type and bits only when
// configured. State is the provider's (none for "consul").
type caConfigJSON struct {
	Provider                 string
	Config                   map[string]any
	State                    map[string]string
	ForceWithoutCrossSigning bool
	CreateIndex              uint64
	ModifyIndex              uint64
}

// connectCAConfiguration serves GET /v1/connect/ca/configuration. As
// Consul's, it is not a blocking query and sends no index headers.
func (a *Agent) connectCAConfiguration(w http.ResponseWriter, r *http.Request) error {
	if !a.cfg.Connect.Enabled {
		return errConnectDisabled
	}
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	if err := a.barrier(r.Context(), o.consistency); err != nil {
		return err
	}
	_, cfg, _ := a.store.CARoots(nil)
	if cfg == nil {
		return errCANotInitialized
	}
	conf := map[string]any{
		"LeafCertTTL":         formatTTL(cfg.LeafCertTTL),
		"IntermediateCertTTL": formatTTL(cfg.IntermediateCertTTL),
		"RootCertTTL":         formatTTL(cfg.RootCertTTL),
	}
	if cfg.PrivateKeyType != "" {
		conf["PrivateKeyType"] = cfg.PrivateKeyType
	}
	if cfg.PrivateKeyBits != 0 {
		conf["PrivateKeyBits"] = cfg.PrivateKeyBits
	}
	return writeJSON(w, caConfigJSON{Provider: cfg.Provider, Config: conf,
		CreateIndex: cfg.CreateIndex, ModifyIndex: cfg.ModifyIndex})
}
