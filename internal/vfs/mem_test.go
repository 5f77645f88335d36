package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
)

func readAll(t *testing.T, fsys FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, f File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestMemSyncedSurvives: data synced and a name made durable by SyncDir
// survive any crash; nothing else is guaranteed.
func TestMemSyncedSurvives(t *testing.T) {
	for seed := range uint64(200) {
		m := NewMem()
		if err := m.MkdirAll("/d"); err != nil {
			t.Fatal(err)
		}
		f, _ := m.Create("/d/a")
		mustWrite(t, f, "hello ")
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := m.SyncDir("/d"); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, f, "world") // unsynced
		m.Crash(rand.New(rand.NewPCG(seed, 1)))
		got := readAll(t, m, "/d/a")
		if !bytes.HasPrefix(got, []byte("hello ")) || !bytes.HasPrefix([]byte("hello world"), got) {
			t.Fatalf("seed %d: got %q, want a prefix of %q starting with the synced part", seed, got, "hello world")
		}
		if _, err := f.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("seed %d: handle survived the crash: %v", seed, err)
		}
	}
}

// TestMemUnsyncedOutcomes checks that every outcome the model promises
// does occur over many seeds: unsynced data kept, dropped and torn, and a
// created-but-not-dir-synced file kept and lost.
func TestMemUnsyncedOutcomes(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(300) {
		m := NewMem()
		m.MkdirAll("/d")
		f, _ := m.Create("/d/a")
		f.Sync() // contents durable (empty), name not
		mustWrite(t, f, "abcdef")
		m.Crash(rand.New(rand.NewPCG(seed, 2)))
		if _, err := m.Stat("/d/a"); errors.Is(err, ErrNotExist) {
			seen["vanished"] = true
			continue
		}
		switch got := string(readAll(t, m, "/d/a")); {
		case got == "abcdef":
			seen["kept"] = true
		case got == "":
			seen["dropped-or-torn-empty"] = true
		case len(got) < 6 && got == "abcdef"[:len(got)]:
			seen["torn"] = true
		default:
			t.Fatalf("seed %d: impossible contents %q", seed, got)
		}
	}
	for _, k := range []string{"vanished", "kept", "dropped-or-torn-empty", "torn"} {
		if !seen[k] {
			t.Errorf("outcome %q never happened", k)
		}
	}
}

// TestMemSubsetHole: a later write may survive an earlier dropped one,
// leaving zeros — any subset, not just a prefix.
func TestMemSubsetHole(t *testing.T) {
	for seed := range uint64(500) {
		m := NewMem()
		f, _ := m.Create("/a")
		f.Sync()
		m.SyncDir("/")
		mustWrite(t, f, "AAAA")
		mustWrite(t, f, "BBBB")
		m.Crash(rand.New(rand.NewPCG(seed, 3)))
		if got := readAll(t, m, "/a"); string(got) == "\x00\x00\x00\x00BBBB" {
			return
		}
	}
	t.Fatal("no seed dropped the first write but kept the second")
}

func TestMemRenameNeedsSyncDir(t *testing.T) {
	reverted, kept := false, false
	for seed := range uint64(200) {
		m := NewMem()
		old, _ := m.Create("/snap")
		mustWrite(t, old, "old")
		old.Sync()
		m.SyncDir("/")
		tmp, _ := m.Create("/snap.tmp")
		mustWrite(t, tmp, "new")
		tmp.Sync()
		if err := m.Rename("/snap.tmp", "/snap"); err != nil {
			t.Fatal(err)
		}
		m.Crash(rand.New(rand.NewPCG(seed, 4)))
		switch got := string(readAll(t, m, "/snap")); got {
		case "old":
			reverted = true
		case "new":
			kept = true
		default:
			t.Fatalf("seed %d: /snap = %q", seed, got)
		}
	}
	if !reverted || !kept {
		t.Fatalf("reverted=%v kept=%v: want both outcomes", reverted, kept)
	}
	// After SyncDir the rename is permanent.
	for seed := range uint64(50) {
		m := NewMem()
		tmp, _ := m.Create("/snap.tmp")
		mustWrite(t, tmp, "new")
		tmp.Sync()
		m.Rename("/snap.tmp", "/snap")
		m.SyncDir("/")
		m.Crash(rand.New(rand.NewPCG(seed, 5)))
		if got := string(readAll(t, m, "/snap")); got != "new" {
			t.Fatalf("seed %d: durable rename lost: %q", seed, got)
		}
		if names, _ := m.ReadDir("/"); len(names) != 1 {
			t.Fatalf("seed %d: names %v", seed, names)
		}
	}
}

func TestMemRemoveNeedsSyncDir(t *testing.T) {
	m := NewMem()
	f, _ := m.Create("/a")
	f.Sync()
	m.SyncDir("/")
	m.Remove("/a")
	m.SyncDir("/")
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if _, err := m.Stat("/a"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("durably removed file came back: %v", err)
	}
}

func TestMemTruncateUnsynced(t *testing.T) {
	// A truncate that is not synced may be undone by a crash, bringing
	// back the old bytes beyond the new size.
	back := false
	for seed := range uint64(100) {
		m := NewMem()
		f, _ := m.Create("/a")
		mustWrite(t, f, "0123456789")
		f.Sync()
		m.SyncDir("/")
		f.Truncate(4)
		m.Crash(rand.New(rand.NewPCG(seed, 6)))
		got := string(readAll(t, m, "/a"))
		if got != "0123" && got != "0123456789" {
			t.Fatalf("seed %d: %q", seed, got)
		}
		back = back || got == "0123456789"
	}
	if !back {
		t.Fatal("unsynced truncate always survived")
	}
}

func TestMemFaults(t *testing.T) {
	m := NewMem()
	f, _ := m.Create("/a")
	m.SetFaults(&Faults{
		Write: func(string, []byte) (int, error) { return 2, syscall.ENOSPC },
		Sync:  func(string) error { return syscall.EIO },
	})
	n, err := f.Write([]byte("abcd"))
	if n != 2 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write = %d, %v", n, err)
	}
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync = %v", err)
	}
	m.SetFaults(nil)
	if got := string(readAll(t, m, "/a")); got != "ab" {
		t.Fatalf("contents %q", got)
	}
}

func TestMemCloneIndependentAndDeterministic(t *testing.T) {
	m := NewMem()
	f, _ := m.Create("/a")
	mustWrite(t, f, "synced")
	f.Sync()
	m.SyncDir("/")
	mustWrite(t, f, "-unsynced-tail")
	c1, c2 := m.Clone(), m.Clone()
	c1.Crash(rand.New(rand.NewPCG(9, 9)))
	c2.Crash(rand.New(rand.NewPCG(9, 9)))
	if a, b := readAll(t, c1, "/a"), readAll(t, c2, "/a"); !bytes.Equal(a, b) {
		t.Fatalf("same seed, different crash: %q vs %q", a, b)
	}
	if got := string(readAll(t, m, "/a")); got != "synced-unsynced-tail" {
		t.Fatalf("original changed by clone's crash: %q", got)
	}
}

func TestOSBasic(t *testing.T) {
	dir := t.TempDir()
	var fsys FS = OS{}
	f, err := fsys.Create(dir + "/a")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "hello")
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "y") // appends at the new end
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(dir+"/a", dir+"/b"); err != nil {
		t.Fatal(err)
	}
	if got := string(readAll(t, fsys, dir+"/b")); got != "hey" {
		t.Fatalf("got %q", got)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil || len(names) != 1 || names[0] != "b" {
		t.Fatalf("ReadDir = %v, %v", names, err)
	}
}

// TestWriteAt: WriteAt overwrites in place and extends past the end (the
// gap reads as zeros); Write still appends at the end; an unsynced
// overwrite is lost, torn to a prefix or kept by a crash, leaving the
// synced bytes around it intact. Run on Mem and on OS.
func TestWriteAt(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys func(t *testing.T) (FS, string)
	}{
		{"mem", func(t *testing.T) (FS, string) { m := NewMem(); m.MkdirAll("/d"); return m, "/d/a" }},
		{"os", func(t *testing.T) (FS, string) { return OS{}, t.TempDir() + "/a" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys, name := tc.fsys(t)
			f, err := fsys.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, f, "0000000000")
			for _, w := range []struct {
				s   string
				off int64
			}{{"ab", 2}, {"xyz", 12}} {
				if _, err := f.WriteAt([]byte(w.s), w.off); err != nil {
					t.Fatal(err)
				}
			}
			mustWrite(t, f, "!")
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			want := "00ab000000\x00\x00xyz!"
			if got := readAll(t, fsys, name); string(got) != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			f.Close()
		})
	}
	for seed := range uint64(100) {
		m := NewMem()
		m.MkdirAll("/d")
		f, _ := m.Create("/d/a")
		mustWrite(t, f, "0000000000")
		f.Sync()
		m.SyncDir("/d")
		f.WriteAt([]byte("abcd"), 3) // unsynced
		m.Crash(rand.New(rand.NewPCG(seed, 2)))
		got := string(readAll(t, m, "/d/a"))
		ok := false
		for k := range 5 {
			ok = ok || got == "000"+"abcd"[:k]+"0000000"[k:]
		}
		if !ok {
			t.Fatalf("seed %d: got %q, want a prefix of abcd over the zeros at 3", seed, got)
		}
	}
}
