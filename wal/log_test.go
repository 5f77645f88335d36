package wal

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/raft"
)

const testDir = "/wal"

func ent(i raft.Index, t raft.Term) raft.Entry {
	return raft.Entry{Index: i, Term: t, Type: raft.EntryNormal, Data: fmt.Appendf(nil, "entry-%d-%d", i, t)}
}

func ents(lo, hi raft.Index, t raft.Term) []raft.Entry {
	var out []raft.Entry
	for i := lo; i < hi; i++ {
		out = append(out, ent(i, t))
	}
	return out
}

func mustOpen(t testing.TB, fsys vfs.FS, cfg Config) *Log {
	t.Helper()
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, hs raft.HardState, es []raft.Entry) {
	t.Helper()
	if err := l.Append(hs, es); err != nil {
		t.Fatalf("append: %v", err)
	}
}

// checkEntries verifies that l holds exactly want (by index, term, data).
func checkEntries(t testing.TB, l *Log, first raft.Index, want []raft.Entry) {
	t.Helper()
	if got := l.FirstIndex(); got != first {
		t.Fatalf("FirstIndex = %d, want %d", got, first)
	}
	if got, w := l.LastIndex(), first-1+raft.Index(len(want)); got != w {
		t.Fatalf("LastIndex = %d, want %d", got, w)
	}
	if len(want) == 0 {
		return
	}
	got, err := l.Entries(first, first+raft.Index(len(want)), 1<<62)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	for k := range want {
		if got[k].Index != want[k].Index || got[k].Term != want[k].Term || got[k].Type != want[k].Type ||
			string(got[k].Data) != string(want[k].Data) {
			t.Fatalf("entry %d = %+v, want %+v", want[k].Index, got[k], want[k])
		}
	}
}

func TestAppendReopen(t *testing.T) {
	fsys := vfs.NewMem()
	l := mustOpen(t, fsys, TestConfig())
	hs := raft.HardState{Term: 3, Vote: "n1", Commit: 40}
	mustAppend(t, l, hs, ents(1, 51, 1))
	for i := raft.Index(51); i < 101; i += 10 {
		mustAppend(t, l, raft.HardState{}, ents(i, i+10, 2))
	}
	if n := len(l.segs); n < 3 {
		t.Fatalf("only %d segments: rotation not exercised", n)
	}
	l.Close()

	l = mustOpen(t, fsys, TestConfig())
	defer l.Close()
	gotHS, snap, err := l.InitialState()
	if err != nil || gotHS != hs || !snap.IsEmpty() {
		t.Fatalf("InitialState = %+v, %+v, %v", gotHS, snap, err)
	}
	checkEntries(t, l, 1, append(ents(1, 51, 1), ents(51, 101, 2)...))
	if tm, _ := l.Term(60); tm != 2 {
		t.Fatalf("Term(60) = %d", tm)
	}
	if _, err := l.Term(101); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Term(101) err = %v", err)
	}
}

func TestSuffixTruncation(t *testing.T) {
	fsys := vfs.NewMem()
	l := mustOpen(t, fsys, TestConfig())
	mustAppend(t, l, raft.HardState{}, ents(1, 41, 1))
	mustAppend(t, l, raft.HardState{Term: 2}, ents(20, 25, 2))
	want := append(ents(1, 20, 1), ents(20, 25, 2)...)
	checkEntries(t, l, 1, want)
	l.Close()
	l = mustOpen(t, fsys, TestConfig())
	defer l.Close()
	checkEntries(t, l, 1, want)
	mustAppend(t, l, raft.HardState{}, ents(25, 30, 2))
	checkEntries(t, l, 1, append(want, ents(25, 30, 2)...))
}

func TestCompactDeletesSegments(t *testing.T) {
	fsys := vfs.NewMem()
	l := mustOpen(t, fsys, TestConfig())
	for i := raft.Index(1); i < 101; i += 10 {
		mustAppend(t, l, raft.HardState{}, ents(i, i+10, 1))
	}
	before := len(l.segs)
	meta := raft.SnapshotMeta{Index: 90, Term: 1, ConfigIndex: 1,
		Configuration: raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "x:1", Suffrage: raft.Voter}}}}
	if err := l.RecordSnapshot(meta); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(80); err != nil {
		t.Fatal(err)
	}
	if len(l.segs) >= before {
		t.Fatalf("segments %d -> %d: nothing deleted", before, len(l.segs))
	}
	names, _ := fsys.ReadDir(testDir)
	if len(names) != len(l.segs) {
		t.Fatalf("files %v, segments %d", names, len(l.segs))
	}
	if _, err := l.Entries(80, 81, 100); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Entries(80) err = %v", err)
	}
	l.Close()
	l = mustOpen(t, fsys, TestConfig())
	defer l.Close()
	checkEntries(t, l, 81, ents(81, 101, 1))
	if tm, err := l.Term(80); tm != 1 || err != nil {
		t.Fatalf("Term(80) = %d, %v", tm, err)
	}
	if _, snap, _ := l.InitialState(); snap.Index != 90 || len(snap.Configuration.Servers) != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestApplySnapshotDiscardsOrKeeps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		meta      raft.SnapshotMeta
		wantFirst raft.Index
		wantLast  raft.Index
	}{
		{"matching entry keeps suffix", raft.SnapshotMeta{Index: 30, Term: 1}, 31, 50},
		{"term mismatch discards", raft.SnapshotMeta{Index: 30, Term: 7}, 31, 30},
		{"beyond log discards", raft.SnapshotMeta{Index: 200, Term: 7}, 201, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			l := mustOpen(t, fsys, TestConfig())
			mustAppend(t, l, raft.HardState{}, ents(1, 51, 1))
			if err := l.ApplySnapshot(tc.meta); err != nil {
				t.Fatal(err)
			}
			for pass := range 2 {
				if f, la := l.FirstIndex(), l.LastIndex(); f != tc.wantFirst || la != tc.wantLast {
					t.Fatalf("pass %d: first, last = %d, %d, want %d, %d", pass, f, la, tc.wantFirst, tc.wantLast)
				}
				if tm, err := l.Term(tc.meta.Index); tm != tc.meta.Term || err != nil {
					t.Fatalf("pass %d: Term(snapshot) = %d, %v", pass, tm, err)
				}
				l.Close()
				l = mustOpen(t, fsys, TestConfig())
			}
			mustAppend(t, l, raft.HardState{}, ents(tc.wantLast+1, tc.wantLast+5, 8))
			if err := l.ApplySnapshot(tc.meta); !errors.Is(err, raft.ErrSnapshotOutOfDate) {
				t.Fatalf("stale snapshot err = %v", err)
			}
			l.Close()
		})
	}
}

func TestCacheBounded(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), TestConfig())
	defer l.Close()
	mustAppend(t, l, raft.HardState{}, ents(1, 201, 1))
	if _, err := l.Entries(1, 201, 1<<62); err != nil {
		t.Fatal(err)
	}
	if l.cache.bytes > l.cfg.CacheBytes || l.cache.len() == 0 {
		t.Fatalf("cache holds %d bytes in %d entries, limit %d", l.cache.bytes, l.cache.len(), l.cfg.CacheBytes)
	}
	if l.cache.len() >= 200 {
		t.Fatal("cache holds the whole log")
	}
}

func TestEntriesMaxBytes(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), TestConfig())
	defer l.Close()
	mustAppend(t, l, raft.HardState{}, ents(1, 11, 1))
	e := ent(1, 1)
	for _, tc := range []struct {
		max  uint64
		want int
	}{{0, 1}, {e.Size(), 1}, {2*e.Size() + 1, 2}, {1 << 40, 10}} {
		got, err := l.Entries(1, 11, tc.max)
		if err != nil || len(got) != tc.want {
			t.Errorf("max %d: %d entries, %v; want %d", tc.max, len(got), err, tc.want)
		}
	}
}

// TestConcurrentReads runs readers against a writer; meaningful with -race.
func TestConcurrentReads(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), TestConfig())
	defer l.Close()
	mustAppend(t, l, raft.HardState{}, ents(1, 2, 1))
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				first, last := l.FirstIndex(), l.LastIndex()
				es, err := l.Entries(first, last+1, 1<<20)
				if err != nil && !errors.Is(err, raft.ErrCompacted) && !errors.Is(err, raft.ErrUnavailable) {
					errs <- err
					return
				}
				for _, e := range es {
					if string(e.Data) != string(ent(e.Index, e.Term).Data) {
						errs <- fmt.Errorf("entry %d has data %q", e.Index, e.Data)
						return
					}
				}
			}
		}()
	}
	for i := raft.Index(2); i < 300; i += 3 {
		mustAppend(t, l, raft.HardState{Term: 1, Commit: i}, ents(i, i+3, 1))
		if i%30 == 2 && i > 10 {
			if err := l.RecordSnapshot(raft.SnapshotMeta{Index: i, Term: 1}); err != nil {
				t.Fatal(err)
			}
			if err := l.Compact(i - 10); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
