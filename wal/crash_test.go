package wal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"syscall"
	"testing"

	"pgregory.net/rapid"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

// logModel is the oracle: the acknowledged state of the log.
type logModel struct {
	first    raft.Index
	prevTerm raft.Term
	ents     []raft.Entry // ents[k].Index == first+k
	hs       raft.HardState
	snap     raft.SnapshotMeta
}

func (m logModel) last() raft.Index { return m.first - 1 + raft.Index(len(m.ents)) }

func (m logModel) term(i raft.Index) (raft.Term, bool) {
	switch {
	case i == m.first-1:
		return m.prevTerm, true
	case i >= m.first && i <= m.last():
		return m.ents[i-m.first].Term, true
	}
	return 0, false
}

func (m logModel) clone() logModel {
	m.ents = append([]raft.Entry(nil), m.ents...)
	return m
}

func (m logModel) append(hs raft.HardState, es []raft.Entry) logModel {
	m = m.clone()
	if len(es) > 0 {
		m.ents = append(m.ents[:es[0].Index-m.first], es...)
	}
	if !hs.IsEmpty() {
		m.hs = hs
	}
	return m
}

func (m logModel) applySnapshot(meta raft.SnapshotMeta) logModel {
	m = m.clone()
	if t, ok := m.term(meta.Index); ok && t == meta.Term {
		m = m.compact(meta.Index)
	} else {
		m.first, m.prevTerm, m.ents = meta.Index+1, meta.Term, nil
	}
	m.snap = meta
	return m
}

func (m logModel) compact(i raft.Index) logModel {
	if i < m.first {
		return m
	}
	m = m.clone()
	t, _ := m.term(i)
	m.ents = m.ents[i+1-m.first:]
	m.first, m.prevTerm = i+1, t
	return m
}

// diff returns "" when l holds exactly the model's state.
func (m logModel) diff(l *Log) string {
	hs, snap, err := l.InitialState()
	if err != nil {
		return fmt.Sprintf("InitialState: %v", err)
	}
	if hs != m.hs {
		return fmt.Sprintf("hard state %+v, want %+v", hs, m.hs)
	}
	if !reflect.DeepEqual(snap, m.snap) {
		return fmt.Sprintf("snapshot %+v, want %+v", snap, m.snap)
	}
	if f, la := l.FirstIndex(), l.LastIndex(); f != m.first || la != m.last() {
		return fmt.Sprintf("first, last = %d, %d, want %d, %d", f, la, m.first, m.last())
	}
	if t, err := l.Term(m.first - 1); err != nil || t != m.prevTerm {
		return fmt.Sprintf("Term(first-1=%d) = %d, %v, want %d", m.first-1, t, err, m.prevTerm)
	}
	if len(m.ents) == 0 {
		return ""
	}
	got, err := l.Entries(m.first, m.last()+1, 1<<62)
	if err != nil {
		return fmt.Sprintf("Entries: %v", err)
	}
	for k, w := range m.ents {
		g := got[k]
		if g.Index != w.Index || g.Term != w.Term || g.Type != w.Type || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("entry %d = %+v, want %+v", w.Index, g, w)
		}
	}
	return ""
}

// crashMachine drives a Log on a vfs.Mem through random operations and
// crashes, checking recovery against logModel.
type crashMachine struct {
	fs    *vfs.Mem
	cfg   Config
	l     *Log
	m     logModel
	term  raft.Term
	crash int // crashes so far, for messages
}

func (c *crashMachine) reopen(t *rapid.T) {
	c.fs.SetFaults(nil)
	c.fs.Crash(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "crashSeed"), 0)))
	c.crash++
	l, err := Open(c.fs, testDir, c.cfg)
	if err != nil {
		t.Fatalf("crash %d: reopen: %v", c.crash, err)
	}
	c.l = l
}

func (c *crashMachine) drawEntries(t *rapid.T) (raft.HardState, []raft.Entry) {
	last := c.m.last()
	from := last + 1
	// Raft never replaces an entry covered by the snapshot (it is committed).
	lo := max(c.m.first, c.m.snap.Index+1)
	if last >= lo && rapid.IntRange(0, 3).Draw(t, "conflict") == 0 {
		from = raft.Index(rapid.Uint64Range(uint64(lo), uint64(last)).Draw(t, "from"))
		c.term++ // a conflicting entry comes from a newer leader
	}
	if rapid.IntRange(0, 4).Draw(t, "newTerm") == 0 {
		c.term++
	}
	n := rapid.IntRange(0, 6).Draw(t, "n")
	var es []raft.Entry
	for k := range n {
		data := rapid.SliceOfN(rapid.Byte(), 0, 60).Draw(t, "data")
		es = append(es, raft.Entry{Index: from + raft.Index(k), Term: c.term,
			Type: raft.EntryType(rapid.IntRange(1, 3).Draw(t, "type")), Data: data})
	}
	var hs raft.HardState
	if rapid.Bool().Draw(t, "withHS") {
		hs = raft.HardState{Term: c.term, Vote: raft.NodeID(rapid.SampledFrom([]string{"", "n1", "n2"}).Draw(t, "vote")),
			Commit: raft.Index(rapid.Uint64Range(0, 100).Draw(t, "commit"))}
	}
	return hs, es
}

func (c *crashMachine) Append(t *rapid.T) {
	hs, es := c.drawEntries(t)
	if err := c.l.Append(hs, es); err != nil {
		t.Fatalf("append: %v", err)
	}
	c.m = c.m.append(hs, es)
}

func (c *crashMachine) drawSnapshot(t *rapid.T) (raft.SnapshotMeta, bool) {
	lo, hi := uint64(c.m.snap.Index)+1, uint64(c.m.last())+3
	if lo > hi {
		return raft.SnapshotMeta{}, false
	}
	meta := raft.SnapshotMeta{Index: raft.Index(rapid.Uint64Range(lo, hi).Draw(t, "snapIndex"))}
	if tm, ok := c.m.term(meta.Index); ok && rapid.IntRange(0, 3).Draw(t, "match") > 0 {
		meta.Term = tm
	} else {
		meta.Term = c.term + raft.Term(rapid.IntRange(0, 1).Draw(t, "snapTermBump"))
		c.term = meta.Term
	}
	meta.ConfigIndex = meta.Index
	for k := range rapid.IntRange(0, 2).Draw(t, "servers") {
		meta.Configuration.Servers = append(meta.Configuration.Servers,
			raft.Server{ID: raft.NodeID(fmt.Sprintf("n%d", k)), Address: "10.0.0.1:8300", Suffrage: raft.Voter})
	}
	return meta, true
}

func (c *crashMachine) ApplySnapshot(t *rapid.T) {
	meta, ok := c.drawSnapshot(t)
	if !ok {
		t.Skip("no snapshot index available")
	}
	if err := c.l.ApplySnapshot(meta); err != nil {
		t.Fatalf("apply snapshot: %v", err)
	}
	c.m = c.m.applySnapshot(meta)
}

// LocalSnapshot records a snapshot of entries the log holds, then keeps
// some trailing entries (RecordSnapshot + Compact).
func (c *crashMachine) LocalSnapshot(t *rapid.T) {
	if c.m.last() <= c.m.snap.Index || c.m.last() < c.m.first {
		t.Skip("nothing new to snapshot")
	}
	lo := max(uint64(c.m.snap.Index)+1, uint64(c.m.first))
	i := raft.Index(rapid.Uint64Range(lo, uint64(c.m.last())).Draw(t, "snapIndex"))
	tm, _ := c.m.term(i)
	meta := raft.SnapshotMeta{Index: i, Term: tm, ConfigIndex: 1}
	if err := c.l.RecordSnapshot(meta); err != nil {
		t.Fatalf("record snapshot: %v", err)
	}
	c.m.snap = meta
	c.Compact(t)
}

func (c *crashMachine) Compact(t *rapid.T) {
	if c.m.snap.Index+1 < c.m.first {
		t.Skip("nothing to compact")
	}
	i := raft.Index(rapid.Uint64Range(uint64(c.m.first)-1, uint64(c.m.snap.Index)).Draw(t, "compact"))
	if err := c.l.Compact(i); err != nil {
		t.Fatalf("compact: %v", err)
	}
	c.m = c.m.compact(i)
}

func (c *crashMachine) Crash(t *rapid.T) {
	c.reopen(t)
	if d := c.m.diff(c.l); d != "" {
		t.Fatalf("crash %d: after recovery: %s", c.crash, d)
	}
}

// FaultyOp arms a disk fault (torn write, failed fsync, failed directory
// fsync) on one of the next few I/O calls, runs an operation, and if it
// failed, crashes: the recovered state must be the state before the
// operation or after it, never anything else.
func (c *crashMachine) FaultyOp(t *rapid.T) {
	kind := rapid.SampledFrom([]string{"write", "sync", "syncdir"}).Draw(t, "fault")
	after := rapid.IntRange(0, 2).Draw(t, "faultAfter")
	calls := 0
	trip := func() bool { calls++; return calls == after+1 }
	f := &vfs.Faults{}
	switch kind {
	case "write":
		tear := rapid.IntRange(0, 200).Draw(t, "tear")
		f.Write = func(_ string, p []byte) (int, error) {
			if trip() {
				return min(tear, len(p)), syscall.ENOSPC
			}
			return len(p), nil
		}
	case "sync":
		f.Sync = func(string) error {
			if trip() {
				return syscall.EIO
			}
			return nil
		}
	case "syncdir":
		f.SyncDir = func(string) error {
			if trip() {
				return syscall.EIO
			}
			return nil
		}
	}
	before := c.m
	var after_ logModel
	var run func() error
	switch rapid.IntRange(0, 2).Draw(t, "faultyOp") {
	case 0:
		hs, es := c.drawEntries(t)
		after_ = c.m.append(hs, es)
		run = func() error { return c.l.Append(hs, es) }
	case 1:
		meta, ok := c.drawSnapshot(t)
		if !ok {
			t.Skip("no snapshot index available")
		}
		after_ = c.m.applySnapshot(meta)
		run = func() error { return c.l.ApplySnapshot(meta) }
	default:
		if c.m.snap.Index+1 < c.m.first {
			t.Skip("nothing to compact")
		}
		i := raft.Index(rapid.Uint64Range(uint64(c.m.first)-1, uint64(c.m.snap.Index)).Draw(t, "compact"))
		after_ = c.m.compact(i)
		run = func() error { return c.l.Compact(i) }
	}
	c.fs.SetFaults(f)
	err := run()
	c.fs.SetFaults(nil)
	if err == nil {
		c.m = after_ // the fault did not hit this operation
		return
	}
	if !IsFatal(err) {
		t.Fatalf("fault gave a non-fatal error: %v", err)
	}
	if err2 := c.l.Append(raft.HardState{}, nil); err2 != nil && !errors.Is(err2, ErrFailed) {
		t.Fatalf("failed log accepted more work: %v", err2)
	}
	c.reopen(t)
	switch {
	case before.diff(c.l) == "":
		c.m = before
	case after_.diff(c.l) == "":
		c.m = after_
	default:
		t.Fatalf("crash %d after %s fault: recovered state is neither before (%s) nor after (%s)",
			c.crash, kind, before.diff(c.l), after_.diff(c.l))
	}
}

func (c *crashMachine) Check(t *rapid.T) {
	if d := c.m.diff(c.l); d != "" {
		t.Fatalf("live state: %s", d)
	}
}

// TestCrashProperty: over random appends (with hard states and suffix
// truncations), snapshots, compactions, crashes at any point and disk
// faults mid-operation, recovery yields exactly the acknowledged state:
// every acknowledged record, no garbage, no truncated record.
//
//	go test ./wal -run TestCrashProperty -rapid.checks=10000
func TestCrashProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := TestConfig()
		cfg.SegmentBytes = int64(rapid.SampledFrom([]int{256, 1024, 4096}).Draw(t, "segmentBytes"))
		cfg.CacheBytes = uint64(rapid.SampledFrom([]int{0, 200, 1 << 20}).Draw(t, "cacheBytes"))
		c := &crashMachine{fs: vfs.NewMem(), cfg: cfg, term: 1}
		l, err := Open(c.fs, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.l = l
		c.m = logModel{first: 1}
		t.Repeat(map[string]func(*rapid.T){
			"Append":        c.Append,
			"ApplySnapshot": c.ApplySnapshot,
			"LocalSnapshot": c.LocalSnapshot,
			"Compact":       c.Compact,
			"Crash":         c.Crash,
			"FaultyOp":      c.FaultyOp,
			"":              c.Check,
		})
	})
}
