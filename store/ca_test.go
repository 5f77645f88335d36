package store

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testCAConfig() CAConfig {
	return CAConfig{ClusterID: "11111111-2222-3333-4444-555555555555", Provider: "consul",
		LeafCertTTL: 72 * time.Hour, IntermediateCertTTL: 8760 * time.Hour, RootCertTTL: 87600 * time.Hour}
}

func testCARoot(id string, active bool) CARoot {
	return CARoot{ID: id, Name: "Consul CA Primary Cert", SerialNumber: 1, SigningKeyID: "aa:bb",
		ExternalTrustDomain: "11111111-2222-3333-4444-555555555555",
		NotBefore:           t0, NotAfter: t0.Add(87600 * time.Hour),
		RootCert:   "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n",
		SigningKey: "secret-" + id, Active: active, PrivateKeyType: "ec", PrivateKeyBits: 256,
		CreateIndex: 999, ModifyIndex: 999} // ignored by the apply
}

func TestCASetBootstrapAndRead(t *testing.T) {
	h := newHarness(t)
	idx, cfg, roots := h.s.CARoots(nil)
	require.Equal(t, uint64(1), idx, "an empty CA table still answers index 1")
	require.Nil(t, cfg)
	require.Empty(t, roots)

	h.set("k", "v") // the CA index is its own table's
	ws := NewWatchSet()
	h.s.CARoots(ws)
	r := h.ok(&CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true)}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.True(t, ws.Wait(ctx), "a CASet fires CA watchers")

	idx, cfg, roots = h.s.CARoots(nil)
	require.Equal(t, r.Index, idx)
	require.Equal(t, r.Index, cfg.CreateIndex)
	require.Equal(t, r.Index, cfg.ModifyIndex)
	require.Equal(t, "11111111-2222-3333-4444-555555555555.consul", cfg.TrustDomain())
	require.Len(t, roots, 1)
	require.Equal(t, "ab:01", roots[0].ID)
	require.Empty(t, roots[0].SigningKey, "reads never return the private key")
	require.Equal(t, r.Index, roots[0].CreateIndex)
	require.Equal(t, "secret-ab:01", h.s.CASigningKey("ab:01"))
	require.Empty(t, h.s.CASigningKey("nope"))

	// A read's copy is private: changing it changes nothing stored.
	roots[0].Name = "changed"
	_, _, again := h.s.CARoots(nil)
	require.Equal(t, "Consul CA Primary Cert", again[0].Name)
}

func TestCASetCheckAndSet(t *testing.T) {
	h := newHarness(t)
	first := h.ok(&CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true)}})

	// A second bootstrap (two leaders racing) is refused: Index 0 no
	// longer matches, and nothing changes.
	r := h.apply(&CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:02", true)}})
	require.ErrorIs(t, r.Err, ErrRejected)
	require.Contains(t, r.Err.Error(), "CA configuration changed")
	_, _, roots := h.s.CARoots(nil)
	require.Len(t, roots, 1)
	require.Equal(t, "ab:01", roots[0].ID)

	// With the current index: a rotation keeps the old root's CreateIndex.
	rot := h.ok(&CASet{Index: first.Index, Config: testCAConfig(),
		Roots: []CARoot{testCARoot("ab:01", false), testCARoot("ab:02", true)}})
	idx, cfg, roots := h.s.CARoots(nil)
	require.Equal(t, rot.Index, idx)
	require.Equal(t, first.Index, cfg.CreateIndex)
	require.Equal(t, rot.Index, cfg.ModifyIndex)
	require.Len(t, roots, 2)
	require.Equal(t, first.Index, roots[0].CreateIndex)
	require.Equal(t, rot.Index, roots[0].ModifyIndex)
	require.Equal(t, rot.Index, roots[1].CreateIndex)
}

func TestCASetRejects(t *testing.T) {
	noCluster := testCAConfig()
	noCluster.ClusterID = ""
	noCert := testCARoot("ab:03", true)
	noCert.RootCert = ""
	for _, tc := range []struct {
		name string
		op   CASet
		want string
	}{
		{"no roots", CASet{Config: testCAConfig()}, "at least one root"},
		{"no active root", CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", false)}}, "exactly one root must be active, got 0"},
		{"two active roots", CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true), testCARoot("ab:02", true)}}, "got 2"},
		{"duplicate IDs", CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true), testCARoot("ab:01", false)}}, "duplicate root ID"},
		{"no cluster ID", CASet{Config: noCluster, Roots: []CARoot{testCARoot("ab:01", true)}}, "cluster ID"},
		{"no certificate", CASet{Config: testCAConfig(), Roots: []CARoot{noCert}}, "missing ID or certificate"},
		{"stale index", CASet{Index: 7, Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", true)}}, "expected 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			before := h.s.Hash()
			r := h.apply(&tc.op)
			require.ErrorIs(t, r.Err, ErrRejected)
			require.Contains(t, r.Err.Error(), tc.want)
			_, cfg, roots := h.s.CARoots(nil)
			require.Nil(t, cfg)
			require.Empty(t, roots)
			require.NotEqual(t, before, h.s.Hash(), "only the applied index moved")
		})
	}
}

func TestCACommandRoundTrip(t *testing.T) {
	root := testCARoot("ab:01", true)
	root.IntermediateCerts = []string{"pem-1", "pem-2"}
	op := &CASet{Index: 5, Config: testCAConfig(), Roots: []CARoot{root, testCARoot("ab:02", false)}}
	op.Config.PrivateKeyType, op.Config.PrivateKeyBits = "ec", 384
	b := EncodeCommand(t0, op)
	c, err := DecodeCommand(b)
	require.NoError(t, err)
	require.Equal(t, op, c.Op)
	require.Equal(t, "CASet", CmdCASet.String())
	for i := 1; i < len(b); i++ {
		_, err := DecodeCommand(b[:i])
		require.True(t, errors.Is(err, ErrDecode), "truncated at %d: %v", i, err)
	}
}

// The CA state, private key included, survives a snapshot and a restore
// (FSM and RestoreState), with equal hashes on the replica.
func TestCASnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.set("a", "1")
	h.ok(&CASet{Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:01", false), testCARoot("ab:02", true)}})
	h.set("b", "2")

	var buf bytes.Buffer
	_, err := h.s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	data := buf.Bytes()

	b := New()
	require.NoError(t, b.Restore(bytes.NewReader(data)))
	require.Equal(t, h.s.Hash(), b.Hash())
	ia, ca, ra := h.s.CARoots(nil)
	ib, cb, rb := b.CARoots(nil)
	require.Equal(t, ia, ib)
	require.Equal(t, ca, cb)
	require.Equal(t, ra, rb)
	require.Equal(t, "secret-ab:02", b.CASigningKey("ab:02"))

	// Through Raft: every index moves to the restore's.
	h2 := newHarness(t)
	h2.set("x", "y")
	r := h2.ok(&RestoreState{Data: data})
	idx, cfg, roots := h2.s.CARoots(nil)
	require.Equal(t, r.Index, idx)
	require.Equal(t, r.Index, cfg.ModifyIndex)
	require.Len(t, roots, 2)
	require.Equal(t, r.Index, roots[1].ModifyIndex)
	require.Equal(t, "secret-ab:01", h2.s.CASigningKey("ab:01"))
	// The CAS index is the restored configuration's.
	h2.ok(&CASet{Index: r.Index, Config: testCAConfig(), Roots: []CARoot{testCARoot("ab:03", true)}})
}

// Snapshots written before the CA table existed (six table indexes, no CA
// records) still load.
func TestCASnapshotWithoutCATable(t *testing.T) {
	h := newHarness(t)
	h.set("a", "1")
	var buf bytes.Buffer
	_, err := h.s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)
	old := oldSnapshot(t, buf.Bytes())
	s := New()
	require.NoError(t, s.Restore(bytes.NewReader(old)))
	idx, cfg, _ := s.CARoots(nil)
	require.Equal(t, uint64(1), idx)
	require.Nil(t, cfg)
	_, e := s.KVGet(nil, "a")
	require.Equal(t, "1", string(e.Value))
}

// oldSnapshot rewrites a snapshot of a state without CA rows as the
// previous layout wrote it: one table index fewer, checksum recomputed.
func oldSnapshot(t *testing.T, b []byte) []byte {
	d := &decoder{b: b[len(snapshotMagic)+1:]}
	d.uvarint() // applied
	n := d.uvarint()
	require.Equal(t, uint64(numTables), n)
	var e encoder
	e.b = append(e.b, b[:len(snapshotMagic)+1]...)
	rest := &decoder{b: b[len(snapshotMagic)+1:]}
	e.uvarint(rest.uvarint())
	rest.uvarint()
	e.uvarint(n - 1)
	for i := uint64(0); i < n; i++ {
		v := rest.uvarint()
		if i < n-1 {
			e.uvarint(v)
		}
	}
	body := append(e.b, rest.b[:len(rest.b)-4]...)
	sum := crc32.Checksum(body, castagnoli)
	return append(body, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum))
}
