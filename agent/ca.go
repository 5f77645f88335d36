package agent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentd/agentd/agent/config"
	"github.com/agentd/agentd/store"
)

// The built-in ("consul") CA provider's root, as Consul generates it when
// Connect is enabled and the cluster has no CA yet:
//
//	key          EC P-256 by default (ca_config private_key_type/bits)
//	serial       1: the provider's serial counter starts there
//	subject CN   pri-<8 base-36 chars>.consul.ca.<first 8 of the cluster ID>.consul
//	URI SAN      spiffe://<cluster ID>.consul (the trust domain)
//	key usage    cert sign, CRL sign, digital signature; CA, basic constraints
//	key IDs      subject = authority = SHA-256 of the PKIX public key
//	validity     now .. now + root_cert_ttl (default 87600h)
//	root ID      SHA-1 of the DER certificate, colon-separated lowercase hex
//
// The leader generates it (randomness and clock live here, never in the
// store) and proposes it with store.CASet; every server then holds the
// same root and key.

// caRootName is the root's Name for the built-in provider (Consul names it
// after the provider: "<Provider> CA Primary Cert").
const caRootName = "Consul CA Primary Cert"

// caProviderConsul is the built-in provider's name.
const caProviderConsul = "consul"

// errConnectDisabled is Consul's answer (a 500) on its Connect endpoints
// when connect.enabled is false.
var errConnectDisabled = errStatus(http.StatusInternalServerError, "Connect must be enabled in order to use this endpoint")

// errCANotInitialized is Consul's answer before the leader has stored a CA
// configuration.
var errCANotInitialized = errStatus(http.StatusInternalServerError, "CA has not finished initializing")

// caKeyParams resolves ca_config's key type and bits to Consul's defaults.
func caKeyParams(c config.CAConfig) (string, int) {
	typ, bits := c.PrivateKeyType, c.PrivateKeyBits
	if typ == "" {
		typ = "ec"
	}
	if bits == 0 {
		bits = 256
		if typ == "rsa" {
			bits = 2048
		}
	}
	return typ, bits
}

// newCABootstrap builds the command that gives a cluster without a CA its
// configuration and first active root. clusterID is ca_config's or a new
// UUID; rnd and now are the leader's.
func newCABootstrap(c config.Connect, clusterID string, rnd io.Reader, now time.Time) (*store.CASet, error) {
	cfg := store.CAConfig{
		ClusterID: clusterID, Provider: caProviderConsul,
		LeafCertTTL: c.CA.LeafCertTTL, IntermediateCertTTL: c.CA.IntermediateCertTTL, RootCertTTL: c.CA.RootCertTTL,
		PrivateKeyType: c.CA.PrivateKeyType, PrivateKeyBits: c.CA.PrivateKeyBits,
	}
	typ, bits := caKeyParams(c.CA)
	root, err := generateCARoot(rnd, now, clusterID, typ, bits, c.CA.RootCertTTL)
	if err != nil {
		return nil, err
	}
	return &store.CASet{Index: 0, Config: cfg, Roots: []store.CARoot{root}}, nil
}

// generateCARoot makes a self-signed root certificate and its key.
func generateCARoot(rnd io.Reader, now time.Time, clusterID, keyType string, keyBits int, ttl time.Duration) (store.CARoot, error) {
	signer, keyPEM, err := generateCAKey(rnd, keyType, keyBits)
	if err != nil {
		return store.CARoot{}, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return store.CARoot{}, fmt.Errorf("agent: CA public key: %w", err)
	}
	keyID := sha256.Sum256(pubDER)
	uid, err := compactUID(rnd)
	if err != nil {
		return store.CARoot{}, err
	}
	tmpl := x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: caCommonName(uid, clusterID)},
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: clusterID + ".consul"}},
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		NotBefore:             now,
		NotAfter:              now.Add(ttl),
		SubjectKeyId:          keyID[:],
		AuthorityKeyId:        keyID[:],
	}
	der, err := x509.CreateCertificate(rnd, &tmpl, &tmpl, signer.Public(), signer)
	if err != nil {
		return store.CARoot{}, fmt.Errorf("agent: create CA certificate: %w", err)
	}
	// The root's facts come from the certificate as encoded (validity
	// truncated to seconds), as Consul reads them back from the PEM.
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return store.CARoot{}, fmt.Errorf("agent: parse CA certificate: %w", err)
	}
	fp := sha1.Sum(der)
	return store.CARoot{
		ID:                  hexString(fp[:]),
		Name:                caRootName,
		SerialNumber:        cert.SerialNumber.Uint64(),
		SigningKeyID:        hexString(cert.SubjectKeyId),
		ExternalTrustDomain: clusterID,
		NotBefore:           cert.NotBefore.UTC(),
		NotAfter:            cert.NotAfter.UTC(),
		RootCert:            string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		SigningKey:          keyPEM,
		Active:              true,
		PrivateKeyType:      keyType,
		PrivateKeyBits:      keyBits,
	}, nil
}

// generateCAKey makes the root's key, PEM-encoded as Consul stores it
// ("EC PRIVATE KEY" SEC 1, or "RSA PRIVATE KEY" PKCS #1).
func generateCAKey(rnd io.Reader, keyType string, keyBits int) (crypto.Signer, string, error) {
	var block pem.Block
	var signer crypto.Signer
	switch keyType {
	case "ec":
		curves := map[int]elliptic.Curve{224: elliptic.P224(), 256: elliptic.P256(), 384: elliptic.P384(), 521: elliptic.P521()}
		curve, ok := curves[keyBits]
		if !ok {
			return nil, "", fmt.Errorf("agent: EC key length must be one of (224, 256, 384, 521) bits, got %d", keyBits)
		}
		k, err := ecdsa.GenerateKey(curve, rnd)
		if err != nil {
			return nil, "", fmt.Errorf("agent: generate CA key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, "", fmt.Errorf("agent: encode CA key: %w", err)
		}
		signer, block = k, pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "rsa":
		k, err := rsa.GenerateKey(rnd, keyBits)
		if err != nil {
			return nil, "", fmt.Errorf("agent: generate CA key: %w", err)
		}
		signer, block = k, pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		return nil, "", fmt.Errorf("agent: unknown CA key type %q", keyType)
	}
	return signer, string(pem.EncodeToMemory(&block)), nil
}

// compactUID is a random 8-character base-36 string (Consul's CompactUID
// for CA common names: some external CAs cache by subject, so each root's
// name differs).
func compactUID(rnd io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("agent: CA name: %w", err)
	}
	s := strconv.FormatUint(binary.LittleEndian.Uint64(b[:]), 36)
	return s[:min(len(s), 8)], nil
}

// caCommonName is Consul's CA subject name for a primary datacenter's
// root: pri-<uid>.<provider>.ca.<trust domain's first 8 chars>.consul.
func caCommonName(uid, clusterID string) string {
	return fmt.Sprintf("pri-%s.%s.ca.%s.consul", uid, caProviderConsul, clusterID[:min(len(clusterID), 8)])
}

// hexString is Consul's colon-separated lowercase hex (connect.HexString),
// used for root IDs, key IDs and serial numbers.
func hexString(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

// formatTTL writes a duration as Consul's default CA configuration spells
// it ("72h"), falling back to Go's form when it is not whole hours.
func formatTTL(d time.Duration) string {
	if d > 0 && d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}
