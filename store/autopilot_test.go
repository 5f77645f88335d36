package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testAutopilot() AutopilotConfig {
	return AutopilotConfig{CleanupDeadServers: true, LastContactThreshold: 200 * time.Millisecond,
		MaxTrailingLogs: 250, MinQuorum: 3, ServerStabilizationTime: 10 * time.Second,
		CreateIndex: 999, ModifyIndex: 999} // indexes are ignored by the apply
}

// The row is seeded, read, watched, and changed with and without CAS as
// Consul's ?cas: a stale index is a false result that changes nothing.
func TestAutopilotSetAndCAS(t *testing.T) {
	h := newHarness(t)
	idx, cfg := h.s.Autopilot(nil)
	require.Equal(t, uint64(1), idx, "an empty table still answers index 1")
	require.Nil(t, cfg)

	seed := h.ok(&AutopilotSet{CAS: true, Index: 0, Config: testAutopilot()})
	idx, cfg = h.s.Autopilot(nil)
	require.Equal(t, seed.Index, idx)
	require.Equal(t, seed.Index, cfg.CreateIndex)
	require.Equal(t, seed.Index, cfg.ModifyIndex)
	require.Equal(t, uint64(3), cfg.MinQuorum)

	// Seeding again (CAS on 0) is refused: a running cluster keeps its row.
	r := h.apply(&AutopilotSet{CAS: true, Index: 0, Config: AutopilotConfig{}})
	require.NoError(t, r.Err)
	require.False(t, r.OK)

	ws := NewWatchSet()
	h.s.Autopilot(ws)
	off := testAutopilot()
	off.CleanupDeadServers = false
	r = h.apply(&AutopilotSet{CAS: true, Index: seed.Index - 1, Config: off})
	require.False(t, r.OK, "stale index")
	_, cfg = h.s.Autopilot(nil)
	require.True(t, cfg.CleanupDeadServers)

	r = h.ok(&AutopilotSet{CAS: true, Index: seed.Index, Config: off})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.True(t, ws.Wait(ctx), "a write fires autopilot watchers")
	idx, cfg = h.s.Autopilot(nil)
	require.Equal(t, r.Index, idx)
	require.False(t, cfg.CleanupDeadServers)
	require.Equal(t, seed.Index, cfg.CreateIndex)
	require.Equal(t, r.Index, cfg.ModifyIndex)

	r = h.ok(&AutopilotSet{Config: testAutopilot()}) // no CAS: always applies
	_, cfg = h.s.Autopilot(nil)
	require.True(t, cfg.CleanupDeadServers)
	require.Equal(t, r.Index, cfg.ModifyIndex)

	cfg.MinQuorum = 9 // a read's copy is private
	_, again := h.s.Autopilot(nil)
	require.Equal(t, uint64(3), again.MinQuorum)
}

func TestAutopilotCommandRoundTrip(t *testing.T) {
	op := &AutopilotSet{CAS: true, Index: 7, Config: testAutopilot()}
	op.Config.RedundancyZoneTag, op.Config.UpgradeVersionTag, op.Config.DisableUpgradeMigration = "zone", "ver", true
	b := EncodeCommand(t0, op)
	c, err := DecodeCommand(b)
	require.NoError(t, err)
	require.Equal(t, op, c.Op)
	require.Equal(t, "AutopilotSet", CmdAutopilotSet.String())
	for i := 1; i < len(b); i++ {
		_, err := DecodeCommand(b[:i])
		require.True(t, errors.Is(err, ErrDecode), "truncated at %d: %v", i, err)
	}
}

// The row survives a snapshot and both restores (FSM and RestoreState).
func TestAutopilotSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.set("a", "1")
	h.ok(&AutopilotSet{Config: testAutopilot()})
	var buf bytes.Buffer
	_, err := h.s.Snapshot().WriteTo(&buf)
	require.NoError(t, err)

	b := New()
	require.NoError(t, b.Restore(bytes.NewReader(buf.Bytes())))
	require.Equal(t, h.s.Hash(), b.Hash())
	ia, ca := h.s.Autopilot(nil)
	ib, cb := b.Autopilot(nil)
	require.Equal(t, ia, ib)
	require.Equal(t, ca, cb)

	h2 := newHarness(t)
	h2.set("x", "y")
	r := h2.ok(&RestoreState{Data: buf.Bytes()})
	idx, cfg := h2.s.Autopilot(nil)
	require.Equal(t, r.Index, idx)
	require.Equal(t, r.Index, cfg.ModifyIndex)
	require.True(t, cfg.CleanupDeadServers)
}
