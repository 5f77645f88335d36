package driver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/swim"
)

// Files in Config.DataDir. Both are JSON, replaced atomically (temp file,
// fsync, rename, directory fsync), so a crash leaves the old or the new
// version, never a mix.
const (
	// stateFile: persistedState.
	stateFile = "swim.state"
	// keyringFile: a JSON array of base64 keys, primary first, as
	// Consul's serf/local.keyring.
	keyringFile = "keyring"
	// maxPersistedBytes bounds what is read back (a huge file is corrupt).
	maxPersistedBytes = 64 << 20
)

// stateVersion is persistedState.Version; a newer one is refused.
const stateVersion = 1

// persistedState is what a restart needs:
//
//	{"version":1, "name":"n1", "incarnation":7, "event_clock":42,
//	 "left":false, "members":[{"name":"n2","addr":"10.0.0.2:8301"}, ...]}
//
// Incarnation and EventClock come back raised (Incarnation+1) or as-is
// (EventClock), so the node's alive beats its old death and gossip still
// in flight is not delivered twice. Members are the peers last seen alive,
// for rejoin.
type persistedState struct {
	Version     int               `json:"version"`
	Name        string            `json:"name"`
	Incarnation swim.Incarnation  `json:"incarnation"`
	EventClock  swim.LamportTime  `json:"event_clock"`
	Left        bool              `json:"left"`
	Members     []persistedMember `json:"members"`
}

type persistedMember struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// writeFileAtomic replaces dir/name with data durably.
func writeFileAtomic(fsys vfs.FS, dir, name string, data []byte) error {
	final := path.Join(dir, name)
	tmp := final + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("swim/driver: create %s: %w", tmp, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("swim/driver: write %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return fmt.Errorf("swim/driver: rename %s: %w", tmp, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("swim/driver: sync dir %s: %w", dir, err)
	}
	return nil
}

// readFile returns the contents of dir/name, or (nil, nil) if absent.
func readFile(fsys vfs.FS, dir, name string) ([]byte, error) {
	p := path.Join(dir, name)
	f, err := fsys.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("swim/driver: open %s: %w", p, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("swim/driver: size %s: %w", p, err)
	}
	if size > maxPersistedBytes {
		return nil, fmt.Errorf("swim/driver: %s: %d bytes, limit %d", p, size, maxPersistedBytes)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && size > 0 {
		return nil, fmt.Errorf("swim/driver: read %s: %w", p, err)
	}
	return b, nil
}

func loadState(fsys vfs.FS, dir string) (*persistedState, error) {
	b, err := readFile(fsys, dir, stateFile)
	if err != nil || b == nil {
		return nil, err
	}
	var s persistedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("swim/driver: %s: %w", path.Join(dir, stateFile), err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("swim/driver: %s: version %d, want %d", path.Join(dir, stateFile), s.Version, stateVersion)
	}
	return &s, nil
}

// loadKeyring returns the persisted keys (base64, primary first), or nil.
func loadKeyring(fsys vfs.FS, dir string) ([]string, error) {
	b, err := readFile(fsys, dir, keyringFile)
	if err != nil || b == nil {
		return nil, err
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("swim/driver: %s: %w", path.Join(dir, keyringFile), err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("swim/driver: %s: no keys", path.Join(dir, keyringFile))
	}
	return keys, nil
}

func saveKeyring(fsys vfs.FS, dir string, keys [][]byte) error {
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = base64.StdEncoding.EncodeToString(k)
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(fmt.Sprintf("swim/driver: marshal keyring: %v", err))
	}
	return writeFileAtomic(fsys, dir, keyringFile, b)
}

// persister writes the latest state on its own goroutine so the loop never
// waits for an fsync. Offers made while a write runs collapse into one:
// only the newest state matters.
type persister struct {
	fs  vfs.FS
	dir string
	log *slog.Logger

	mu      sync.Mutex // guards pending
	pending *persistedState

	kick     chan struct{} // capacity 1
	stop     chan struct{}
	done     chan struct{}
	failures atomic.Uint64
}

func newPersister(fsys vfs.FS, dir string, log *slog.Logger) *persister {
	return &persister{fs: fsys, dir: dir, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

func (p *persister) offer(s *persistedState) {
	p.mu.Lock()
	p.pending = s
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *persister) run() {
	defer close(p.done)
	for {
		select {
		case <-p.kick:
			p.flush()
		case <-p.stop:
			p.flush()
			return
		}
	}
}

func (p *persister) flush() {
	p.mu.Lock()
	s := p.pending
	p.pending = nil
	p.mu.Unlock()
	if s == nil {
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("swim/driver: marshal state: %v", err))
	}
	if err := writeFileAtomic(p.fs, p.dir, stateFile, b); err != nil {
		// The previous file stays whole (rename is atomic); the next
		// offer tries again with a fresh temp file.
		p.failures.Add(1)
		p.log.Error("persist state", "err", err)
	}
}

// close writes whatever is pending and stops.
func (p *persister) close() {
	close(p.stop)
	<-p.done
}
