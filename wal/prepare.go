package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/agentd/agentd/internal/vfs"
)

// preparedName is the file the next segment is zero-filled in before a
// rotation renames it into place. It is not a segment name, so recovery
// never reads it; Open removes a leftover one.
const preparedName = "next.wal.tmp"

// prepared is the next segment file, zero-filled to SegmentBytes and
// fsynced by a background goroutine (Config.PrepareSegments). The
// goroutine owns f and err until done is closed.
type prepared struct {
	done chan struct{}
	f    vfs.File
	err  error
}

// maybePrepare starts zero-filling the next segment once the active one
// is half full, so that the Append that rotates only renames a ready file
// instead of writing SegmentBytes of zeros (etcd's filePipeline). Starting
// at half rather than at each rotation keeps a log that never rotates, and
// a freshly opened one, free of the extra disk traffic. Called with wmu
// held.
func (l *Log) maybePrepare(active *segment) {
	if !l.cfg.PrepareSegments || l.prep != nil || active.size < l.cfg.SegmentBytes/2 {
		return
	}
	p := &prepared{done: make(chan struct{})}
	l.prep = p
	fsys, path, size := l.fs, filepath.Join(l.dir, preparedName), l.cfg.SegmentBytes
	go func() {
		defer close(p.done)
		f, err := fsys.Create(path)
		// One fsync per chunk: a single fsync of the whole file would
		// queue the appends' own fsyncs behind SegmentBytes of writeback,
		// moving the stall from the rotation to a random Append.
		for off := int64(0); err == nil && off < size; off += int64(len(zeroChunk)) {
			if err = zeroFill(f, off, min(size, off+int64(len(zeroChunk)))); err == nil {
				err = f.Sync()
			}
		}
		if err != nil && f != nil {
			f.Close()
		}
		p.f, p.err = f, err
	}()
}

// takePrepared waits for the prepared file and renames it to path. The
// rename is made durable by the caller's directory fsync after the first
// batch is written; until then a crash leaves either name, and recovery
// removes an unnamed or batch-less file. ok is false when nothing was
// being prepared. Called with wmu held.
func (l *Log) takePrepared(path string) (f vfs.File, ok bool, err error) {
	p := l.prep
	if p == nil {
		return nil, false, nil
	}
	l.prep = nil
	<-p.done
	if p.err != nil {
		return nil, true, fmt.Errorf("prepare segment: %w", p.err)
	}
	if err := l.fs.Rename(filepath.Join(l.dir, preparedName), path); err != nil {
		p.f.Close()
		return nil, true, fmt.Errorf("rename prepared segment to %s: %w", path, err)
	}
	return p.f, true, nil
}

// stopPreparing waits for a background preparation and closes its file;
// the file itself is left for the next Open to remove.
func (l *Log) stopPreparing() {
	if p := l.prep; p != nil {
		l.prep = nil
		<-p.done
		if p.err == nil {
			p.f.Close()
		}
	}
}

// removePrepared deletes a prepared file a previous process left behind.
// Its removal need not be durable: a later Open removes it again.
func removePrepared(fsys vfs.FS, dir string) error {
	path := filepath.Join(dir, preparedName)
	if _, err := fsys.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := fsys.Remove(path); err != nil {
		return fmt.Errorf("wal: remove %s: %w", path, err)
	}
	return nil
}
