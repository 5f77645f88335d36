package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// logFile is -log-file as Consul's logging.LogFile: the active file is
// <name><ext> (a path ending in a separator names consul.log; a name
// without extension gets .log); when it has grown past maxBytes (0: no
// limit) or is older than maxAge (0: never), it is renamed to
// <name>-<unix nanoseconds><ext> and a new one opened. maxFiles archives
// are kept (0: every one, -1: none).
type logFile struct {
	mu       sync.Mutex
	dir      string
	base     string // file name without extension
	ext      string
	maxBytes int64
	maxAge   time.Duration
	maxFiles int
	now      func() time.Time

	f        *os.File
	size     int64
	openedAt time.Time
}

// openLogFile opens (appending to) the active log file.
func openLogFile(path string, maxBytes int, maxAge time.Duration, maxFiles int) (*logFile, error) {
	dir, name := filepath.Split(path)
	if name == "" {
		name = "consul.log"
	}
	ext := filepath.Ext(name)
	if ext == "" {
		ext = ".log"
	}
	l := &logFile{
		dir: dir, base: strings.TrimSuffix(name, filepath.Ext(name)), ext: ext,
		maxBytes: int64(maxBytes), maxAge: maxAge, maxFiles: maxFiles, now: time.Now,
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) path() string { return filepath.Join(l.dir, l.base+l.ext) }

func (l *logFile) open() error {
	if l.dir != "" {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return fmt.Errorf("log_file: %w", err)
		}
	}
	f, err := os.OpenFile(l.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log_file: %w", err)
	}
	l.f, l.size, l.openedAt = f, st.Size(), l.now()
	return nil
}

// Write appends p, rotating first if p would take the file past its size
// limit (a file holding nothing yet takes p whatever its size) or the
// file is past its age.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	full := l.maxBytes > 0 && l.size > 0 && l.size+int64(len(p)) > l.maxBytes
	old := l.maxAge > 0 && l.now().Sub(l.openedAt) >= l.maxAge
	if full || old {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *logFile) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	archive := filepath.Join(l.dir, fmt.Sprintf("%s-%d%s", l.base, l.now().UnixNano(), l.ext))
	if err := os.Rename(l.path(), archive); err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	if err := l.prune(); err != nil {
		return err
	}
	return l.open()
}

// prune removes the oldest archives beyond maxFiles.
func (l *logFile) prune() error {
	if l.maxFiles == 0 {
		return nil
	}
	archives, err := filepath.Glob(filepath.Join(l.dir, l.base+"-*"+l.ext))
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	slices.Sort(archives) // same-width nanosecond stamps sort by age
	keep := max(l.maxFiles, 0)
	for len(archives) > keep {
		if err := os.Remove(archives[0]); err != nil {
			return fmt.Errorf("log_file: %w", err)
		}
		archives = archives[1:]
	}
	return nil
}

// Close closes the active file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
