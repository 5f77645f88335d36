package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"

	"github.com/agentd/agentd/agent/config"
	"github.com/agentd/agentd/store"
)

const testClusterID = "11111111-2222-3333-4444-555555555555"

func parseRootPEM(t testing.TB, s string) *x509.Certificate {
	t.Helper()
	b, rest := pem.Decode([]byte(s))
	require.NotNil(t, b, "no PEM block in %q", s)
	require.Equal(t, "CERTIFICATE", b.Type)
	require.Empty(t, bytes.TrimSpace(rest))
	cert, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return cert
}

// checkRootCert checks a root as Consul's built-in provider makes it.
func checkRootCert(t testing.TB, cert *x509.Certificate, id, clusterID string) {
	t.Helper()
	require.True(t, cert.IsCA)
	require.True(t, cert.BasicConstraintsValid)
	require.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature, cert.KeyUsage)
	require.NoError(t, cert.CheckSignatureFrom(cert), "self-signed")
	require.Len(t, cert.URIs, 1)
	require.Equal(t, "spiffe://"+clusterID+".consul", cert.URIs[0].String())
	require.Regexp(t, `^pri-[0-9a-z]{1,8}\.consul\.ca\.`+regexp.QuoteMeta(clusterID[:8])+`\.consul$`, cert.Subject.CommonName)
	require.Equal(t, int64(1), cert.SerialNumber.Int64())
	pub, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	require.NoError(t, err)
	kid := sha256.Sum256(pub)
	require.Equal(t, kid[:], cert.SubjectKeyId)
	require.Equal(t, kid[:], cert.AuthorityKeyId)
	fp := sha1.Sum(cert.Raw)
	require.Equal(t, hexString(fp[:]), id, "the root ID is the certificate's SHA-1 fingerprint")
	require.Regexp(t, `^([0-9a-f]{2}:){19}[0-9a-f]{2}$`, id)
}

func TestGenerateCARoot(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		typ  string
		bits int
	}{{"ec", 256}, {"ec", 384}, {"rsa", 2048}} {
		t.Run(tc.typ, func(t *testing.T) {
			r, err := generateCARoot(rand.Reader, now, testClusterID, tc.typ, tc.bits, 87600*time.Hour)
			require.NoError(t, err)
			cert := parseRootPEM(t, r.RootCert)
			checkRootCert(t, cert, r.ID, testClusterID)
			require.Equal(t, caRootName, r.Name)
			require.Equal(t, uint64(1), r.SerialNumber)
			require.Equal(t, testClusterID, r.ExternalTrustDomain)
			require.Equal(t, hexString(cert.SubjectKeyId), r.SigningKeyID)
			require.True(t, r.Active)
			require.Equal(t, tc.typ, r.PrivateKeyType)
			require.Equal(t, tc.bits, r.PrivateKeyBits)
			require.Equal(t, now.Truncate(time.Second).Unix(), r.NotBefore.Unix())
			require.Equal(t, 87600*time.Hour, r.NotAfter.Sub(r.NotBefore))

			// The stored key is the certificate's.
			kb, _ := pem.Decode([]byte(r.SigningKey))
			require.NotNil(t, kb)
			var signer crypto.Signer
			switch tc.typ {
			case "ec":
				require.Equal(t, "EC PRIVATE KEY", kb.Type)
				k, err := x509.ParseECPrivateKey(kb.Bytes)
				require.NoError(t, err)
				require.Equal(t, tc.bits, k.Curve.Params().BitSize)
				require.True(t, k.PublicKey.Equal(cert.PublicKey.(*ecdsa.PublicKey)))
				signer = k
			case "rsa":
				require.Equal(t, "RSA PRIVATE KEY", kb.Type)
				k, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
				require.NoError(t, err)
				require.Equal(t, tc.bits, k.N.BitLen())
				require.True(t, k.PublicKey.Equal(cert.PublicKey.(*rsa.PublicKey)))
				signer = k
			}
			require.NotNil(t, signer)
		})
	}
	_, err := generateCARoot(rand.Reader, now, testClusterID, "ec", 123, time.Hour)
	require.ErrorContains(t, err, "EC key length")
}

func TestCAHelpers(t *testing.T) {
	require.Equal(t, "0a:ff:00", hexString([]byte{0x0a, 0xff, 0}))
	require.Equal(t, "72h", formatTTL(72*time.Hour))
	require.Equal(t, "87600h", formatTTL(87600*time.Hour))
	require.Equal(t, "1h30m0s", formatTTL(90*time.Minute))
	for _, tc := range []struct {
		in       config.CAConfig
		typ      string
		bits     int
		describe string
	}{
		{config.CAConfig{}, "ec", 256, "Consul's default"},
		{config.CAConfig{PrivateKeyBits: 384}, "ec", 384, "bits only"},
		{config.CAConfig{PrivateKeyType: "rsa"}, "rsa", 2048, "rsa default bits"},
	} {
		typ, bits := caKeyParams(tc.in)
		require.Equal(t, tc.typ, typ, tc.describe)
		require.Equal(t, tc.bits, bits, tc.describe)
	}
}

// startAgentWith runs a dev agent with mod applied to the test
// configuration and waits until it leads.
func startAgentWith(t testing.TB, mod func(*config.Config)) *Agent {
	t.Helper()
	cfg := testConfig()
	mod(&cfg)
	return startLeading(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// waitRoots polls the agent endpoint until the CA is bootstrapped.
func waitRoots(t testing.TB, c *api.Client) (*api.CARootList, *api.QueryMeta) {
	t.Helper()
	var list *api.CARootList
	var meta *api.QueryMeta
	waitFor(t, 10*time.Second, func() bool {
		var err error
		list, meta, err = c.Agent().ConnectCARoots(nil)
		return err == nil
	}, "CA roots")
	return list, meta
}

// TestAPIConnectCARoots: the leader bootstraps the CA on its own; both
// roots endpoints and the configuration answer through the official
// client with a root that is a real CA certificate.
func TestAPIConnectCARoots(t *testing.T) {
	a := startAgent(t)
	c := apiClient(t, a)
	list, meta := waitRoots(t, c)
	require.Len(t, list.Roots, 1)
	root := list.Roots[0]
	require.Equal(t, root.ID, list.ActiveRootID)
	require.True(t, root.Active)
	require.Equal(t, caRootName, root.Name)
	_, cfg, _ := a.store.CARoots(nil)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, cfg.ClusterID, "a random cluster ID")
	require.Equal(t, cfg.ClusterID+".consul", list.TrustDomain)
	checkRootCert(t, parseRootPEM(t, root.RootCertPEM), root.ID, cfg.ClusterID)
	require.Equal(t, cfg.ModifyIndex, meta.LastIndex)
	require.Equal(t, meta.LastIndex, root.CreateIndex)
	require.Greater(t, meta.LastIndex, uint64(1))

	list2, meta2, err := c.Connect().CARoots(nil)
	require.NoError(t, err)
	require.Equal(t, list, list2)
	require.Equal(t, meta.LastIndex, meta2.LastIndex)

	// The JSON carries Consul's fields and never the private key.
	for _, path := range []string{"/v1/agent/connect/ca/roots", "/v1/connect/ca/roots", "/v1/connect/ca/configuration"} {
		code, h, body := do(t, http.MethodGet, a.url(path), nil)
		require.Equal(t, http.StatusOK, code, body)
		require.NotContains(t, body, "PRIVATE KEY", path)
		require.NotContains(t, body, "SigningKey\"", path)
		if path != "/v1/connect/ca/configuration" {
			require.Contains(t, body, `"ExternalTrustDomain":"`+cfg.ClusterID+`"`)
			require.Contains(t, body, `"IntermediateCerts":null`)
			require.Contains(t, body, `"PrivateKeyType":"ec","PrivateKeyBits":256`)
			require.NotEmpty(t, h.Get("X-Consul-Index"))
		} else {
			require.Empty(t, h.Get("X-Consul-Index"), "Consul's configuration read sends no index")
		}
	}
	require.NotEmpty(t, a.store.CASigningKey(root.ID), "the key is stored")

	// ?pem=true: the chain as PEM; a non-boolean ?pem is Consul's 400.
	code, h, body := do(t, http.MethodGet, a.url("/v1/connect/ca/roots?pem=true"), nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/pem-certificate-chain", h.Get("Content-Type"))
	require.Equal(t, root.RootCertPEM, body)
	code, _, body = do(t, http.MethodGet, a.url("/v1/connect/ca/roots?pem=maybe"), nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "The 'pem' query parameter must be a boolean value", body)

	// A blocking query on the roots waits while nothing changes.
	start := time.Now()
	_, meta3, err := c.Agent().ConnectCARoots(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, meta.LastIndex, meta3.LastIndex)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	// The configuration, as the api package's own test expects it.
	conf, _, err := c.Connect().CAGetConfig(nil)
	require.NoError(t, err)
	require.Equal(t, "consul", conf.Provider)
	parsed, err := api.ParseConsulCAConfig(conf.Config)
	require.NoError(t, err)
	want := &api.ConsulCAProviderConfig{IntermediateCertTTL: 8760 * time.Hour}
	want.LeafCertTTL = 72 * time.Hour
	want.RootCertTTL = 87600 * time.Hour
	require.Equal(t, want, parsed)
	require.Equal(t, cfg.CreateIndex, conf.CreateIndex)
}

// TestCARebootstrapAfterRestore: a restore of a state without a CA wakes
// the leader's CA duty, which stores a new root; a blocking roots query
// sees it.
func TestCARebootstrapAfterRestore(t *testing.T) {
	a := startAgentWith(t, func(c *config.Config) { c.Connect.CA.ClusterID = testClusterID })
	c := apiClient(t, a)
	list, meta := waitRoots(t, c)
	require.Equal(t, testClusterID+".consul", list.TrustDomain)
	old := list.ActiveRootID

	var empty bytes.Buffer
	_, err := store.New().Snapshot().WriteTo(&empty)
	require.NoError(t, err)
	res, err := a.apply(context.Background(), &store.RestoreState{Data: empty.Bytes()})
	require.NoError(t, err)
	require.NoError(t, res.Err)

	waitFor(t, 10*time.Second, func() bool {
		l, m, err := c.Connect().CARoots(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Second})
		if err != nil {
			return false
		}
		list, meta = l, m
		return len(l.Roots) == 1 && l.ActiveRootID != old
	}, "a new root after the restore")
	require.Equal(t, testClusterID+".consul", list.TrustDomain, "the configured cluster ID again")
	require.Greater(t, meta.LastIndex, res.Index)
}

// TestConnectDisabled: with connect.enabled false no CA is made and the
// endpoints answer Consul's 500.
func TestConnectDisabled(t *testing.T) {
	a := startAgentWith(t, func(c *config.Config) { c.Connect.Enabled = false })
	for _, path := range []string{"/v1/agent/connect/ca/roots", "/v1/connect/ca/roots", "/v1/connect/ca/configuration"} {
		code, _, body := do(t, http.MethodGet, a.url(path), nil)
		require.Equal(t, http.StatusInternalServerError, code, path)
		require.Equal(t, "Connect must be enabled in order to use this endpoint", body, path)
	}
	_, _, err := apiClient(t, a).Agent().ConnectCARoots(nil)
	require.ErrorContains(t, err, "Connect must be enabled")
	// Other writes commit after the leader's duties started: still no CA.
	_, err = apiClient(t, a).KV().Put(&api.KVPair{Key: "k"}, nil)
	require.NoError(t, err)
	_, cfg, roots := a.store.CARoots(nil)
	require.Nil(t, cfg)
	require.Empty(t, roots)
	code, _, _ := do(t, http.MethodPut, a.url("/v1/connect/ca/roots"), nil)
	require.Equal(t, http.StatusMethodNotAllowed, code)
}

// TestClusterCARoots: the leader of three servers bootstraps one CA;
// every server serves the same root (and holds the same key).
func TestClusterCARoots(t *testing.T) {
	agents := startTestCluster(t, 3)
	leaderOf(t, agents)
	var first *api.CARootList
	for _, a := range agents {
		list, _ := waitRoots(t, apiClient(t, a))
		require.Len(t, list.Roots, 1)
		if first == nil {
			first = list
			continue
		}
		require.Equal(t, first, list, "server %s", a.cfg.NodeName)
	}
	id := first.ActiveRootID
	checkRootCert(t, parseRootPEM(t, first.Roots[0].RootCertPEM), id, strings.TrimSuffix(first.TrustDomain, ".consul"))
	waitFor(t, 10*time.Second, func() bool {
		k := agents[0].store.CASigningKey(id)
		return k != "" && k == agents[1].store.CASigningKey(id) && k == agents[2].store.CASigningKey(id)
	}, "the same key on every server")
}
