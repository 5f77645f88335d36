package driver

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agentd/agentd/internal/clock"
	"github.com/agentd/agentd/internal/vfs"
)

// writeFileAtomic survives a crash at any point with the old or the new
// contents, never a mix or nothing; a failed fsync leaves the old file.
func TestWriteFileAtomicCrash(t *testing.T) {
	for seed := range uint64(50) {
		m := vfs.NewMem()
		m.MkdirAll("d")
		if err := writeFileAtomic(m, "d", "f", []byte("old contents")); err != nil {
			t.Fatal(err)
		}
		// Crash right after the new version's rename, before SyncDir.
		m.SetFaults(&vfs.Faults{SyncDir: func(string) error { return errors.New("crash point") }})
		if err := writeFileAtomic(m, "d", "f", []byte("new")); err == nil {
			t.Fatal("SyncDir fault not reported")
		}
		m.SetFaults(nil)
		m.Crash(clock.NewRand(seed))
		b, err := readFile(m, "d", "f")
		if err != nil || (string(b) != "old contents" && string(b) != "new") {
			t.Fatalf("seed %d: after crash %q, %v", seed, b, err)
		}
	}
	m := vfs.NewMem()
	m.MkdirAll("d")
	writeFileAtomic(m, "d", "f", []byte("old"))
	m.SetFaults(&vfs.Faults{Sync: func(string) error { return errors.New("EIO") }})
	if err := writeFileAtomic(m, "d", "f", []byte("new")); err == nil {
		t.Fatal("Sync fault not reported")
	}
	if b, _ := readFile(m, "d", "f"); string(b) != "old" {
		t.Fatalf("after a failed write: %q", b)
	}
}

func TestLoadCorrupt(t *testing.T) {
	m := vfs.NewMem()
	m.MkdirAll("d")
	for _, tc := range []struct{ name, file, body string }{
		{"state not json", stateFile, "{"},
		{"state future version", stateFile, `{"version":2}`},
		{"keyring not json", keyringFile, "["},
		{"keyring empty", keyringFile, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFileAtomic(m, "d", tc.file, []byte(tc.body))
			var err error
			if tc.file == stateFile {
				_, err = loadState(m, "d")
			} else {
				_, err = loadKeyring(m, "d")
			}
			if err == nil {
				t.Fatal("accepted")
			}
			m.Remove("d/" + tc.file)
		})
	}
	// A corrupt keyring stops the driver from starting (it must not
	// silently fall back to no encryption); a corrupt state only loses
	// the rejoin.
	writeFileAtomic(m, "d", keyringFile, []byte("["))
	tr, _ := NewMemNetwork().Transport("a:1")
	if _, err := New(Config{Swim: fastSwim("a", 1), Transport: tr, DataDir: "d", FS: m}); err == nil {
		t.Fatal("started with a corrupt keyring")
	}
	m.Remove("d/" + keyringFile)
	writeFileAtomic(m, "d", stateFile, []byte("{"))
	tr2, _ := NewMemNetwork().Transport("a:1")
	d, err := New(Config{Swim: fastSwim("a", 1), Transport: tr2, DataDir: "d", FS: m})
	if err != nil {
		t.Fatalf("corrupt state refused: %v", err)
	}
	d.Stop()
	if st, err := loadState(m, "d"); err != nil || st.Name != "a" {
		t.Fatalf("state not rewritten on stop: %+v %v", st, err)
	}
}

// Two pools in one process (LAN and WAN, as a Consul server runs): two
// drivers with the same node name, separate networks and data dirs.
func TestTwoPools(t *testing.T) {
	lan, wan := NewMemNetwork(), NewMemNetwork()
	disk := vfs.NewMem()
	pool := func(mn *MemNetwork, name, dir string, seed uint64) *tnode {
		tr, _ := mn.Transport(name)
		return startNode(t, name, Config{Swim: fastSwim("s1", seed), Transport: tr, DataDir: dir, FS: disk})
	}
	l1, w1 := pool(lan, "lan1", "serf/lan", 1), pool(wan, "wan1", "serf/wan", 2)
	tr, _ := lan.Transport("lan2")
	l2 := startNode(t, "lan2", Config{Swim: fastSwim("s2", 3), Transport: tr})
	l2.d.Join([]string{"lan1"})
	eventually(t, 5*time.Second, "lan converged", converged([]*tnode{l1, l2}, "s1", "s2"))
	if ms := w1.d.Members(); len(ms) != 1 {
		t.Fatalf("wan pool sees %v", ms)
	}
	l1.d.Stop()
	w1.d.Stop()
	ls, _ := loadState(disk, "serf/lan")
	ws, _ := loadState(disk, "serf/wan")
	if len(ls.Members) != 1 || len(ws.Members) != 0 {
		t.Fatalf("lan state %+v, wan state %+v", ls, ws)
	}
}

// Datagrams beyond InboxSize while the loop is busy are dropped and
// counted, never blocking the transport.
func TestInboxOverflow(t *testing.T) {
	mn := NewMemNetwork()
	n := memNode(t, mn, "a", 1, func(c *Config) { c.InboxSize = 2 })
	junk, _ := mn.Transport("junk:1")
	junk.Serve(nopHandler{})
	release := make(chan struct{})
	busy := make(chan struct{})
	go n.d.call(func() { close(busy); <-release })
	<-busy
	for range 5 {
		junk.WritePacket("a:7946", []byte{3, 1, 1}) // an ack nobody waits for
	}
	close(release)
	if s := n.d.Stats(); s.InboxDropped != 3 || s.PacketsIn != 5 {
		t.Fatalf("stats %+v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	tr, _ := NewMemNetwork().Transport("a:1")
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		want  string
	}{
		{"no transport", func(c *Config) { c.Transport = nil }, "Transport"},
		{"no tcp timeout", func(c *Config) { c.Swim.TCPTimeout = 0 }, "TCPTimeout"},
		{"negative inbox", func(c *Config) { c.InboxSize = -1 }, "InboxSize"},
		{"tiny stream", func(c *Config) { c.MaxStreamBytes = 10 }, "MaxStreamBytes"},
		{"bad key", func(c *Config) { c.Keys = []string{"nope"} }, "key"},
		{"core config", func(c *Config) { c.Swim.Rand = nil }, "Rand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Swim: fastSwim("a", 1), Transport: tr}
			tc.tweak(&c)
			d, err := New(c)
			if err == nil {
				d.Stop()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// The real transport asks for large UDP buffers and logs what it got.
func TestListenLogsBuffers(t *testing.T) {
	var buf syncBuf
	tr, err := Listen(NetConfig{BindAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, _, ok := socketBuffers(tr.udp); ok && !strings.Contains(buf.String(), "granted_read=") {
		t.Fatalf("log: %s", buf.String())
	}
}
