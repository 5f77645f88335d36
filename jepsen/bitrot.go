package jepsen

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/raft"
	"github.com/agentd/agentd/wal"
)

// Bit-rot probe. Power loss only ever damages what was not yet synced,
// so a WAL recovery that takes damage to synced data for a torn tail, or
// skips it, passes every crash the nemesis makes. A bad sector does damage
// synced data (WAL checklist §2.4: a bad checksum before a complete commit
// marker is corruption, never a torn tail). The probe asks the WAL the
// question without hurting the run: on a third of the restarts, after the
// node's WAL was recovered, it flips one byte inside a synced batch of a
// copy of the disk (vfs.Mem.Clone, FlipByte) and opens the WAL there.
// Reopening must either fail or recover exactly the log the node has
// (hard state, snapshot, bounds, every entry's term and bytes); anything
// else is an acknowledged write lost or changed in silence (durability).
//
// The flipped byte is drawn from the synced part of a segment: everything
// up to its last non-zero byte (after recovery the rest is zeros), except,
// in the newest segment, the last commit marker: damage there cannot be
// told from a commit marker torn by a power loss, so dropping that batch
// is right. Draws come from their own stream (streamBitRot); the probe
// touches nothing the run reads, so seeds replay as before.

// rotCommitRecord is the size of a WAL commit marker (16-byte header and
// 16-byte payload), kept clear of in the newest segment.
const rotCommitRecord = 32

// probeBitRot runs the probe on n's freshly recovered WAL, a third of the time.
func (n *node) probeBitRot() {
	c := n.c
	r := c.bitRot
	if r.IntN(3) != 0 {
		return
	}
	fs := n.host.FS()
	names, err := fs.ReadDir(walDir)
	if err != nil {
		return
	}
	type span struct {
		name string
		end  int64 // flip offsets are drawn from [0, end)
	}
	var segs []span
	for _, name := range names {
		if !strings.HasSuffix(name, ".wal") || strings.HasPrefix(name, "next") {
			continue
		}
		segs = append(segs, span{name: filepath.Join(walDir, name)})
	}
	if len(segs) == 0 {
		return
	}
	for k := range segs {
		data, err := readFile(fs, segs[k].name)
		if err != nil {
			return
		}
		end := int64(len(data))
		for end > 0 && data[end-1] == 0 {
			end--
		}
		if k == len(segs)-1 {
			end -= rotCommitRecord
		}
		segs[k].end = max(end, 0)
	}
	var total int64
	for _, s := range segs {
		total += s.end
	}
	if total == 0 {
		return
	}
	off := r.Int64N(total)
	var target span
	for _, s := range segs {
		if off < s.end {
			target = s
			break
		}
		off -= s.end
	}
	rotted := fs.Clone()
	if err := rotted.FlipByte(target.name, off); err != nil {
		c.check.Fail(check.InternalError, "%s: bit-rot probe: %v", n.id, err)
		return
	}
	log, err := wal.Open(rotted, walDir, wal.Config{
		SegmentBytes:   c.swarm.SegmentBytes,
		MaxRecordBytes: 2 << 20,
		CacheBytes:     64 << 10,
	})
	if err != nil {
		return // detected
	}
	defer log.Close()
	if diff := sameLog(n.log, log); diff != "" {
		c.check.Fail(check.Durability, "%s: a byte flipped in synced WAL data (%s offset %d) went undetected on reopen: %s",
			n.id, filepath.Base(target.name), off, diff)
	}
}

// sameLog describes the first difference between two recovered logs, ""
// if they hold the same state.
func sameLog(want, got *wal.Log) string {
	whs, wsnap, _ := want.InitialState()
	ghs, gsnap, _ := got.InitialState()
	switch {
	case whs != ghs:
		return fmt.Sprintf("hard state %+v, was %+v", ghs, whs)
	case !sameSnapshotMeta(wsnap, gsnap):
		return fmt.Sprintf("snapshot %d/%d, was %d/%d", gsnap.Index, gsnap.Term, wsnap.Index, wsnap.Term)
	case want.FirstIndex() != got.FirstIndex() || want.LastIndex() != got.LastIndex():
		return fmt.Sprintf("entries [%d, %d], were [%d, %d]", got.FirstIndex(), got.LastIndex(), want.FirstIndex(), want.LastIndex())
	}
	first, last := want.FirstIndex(), want.LastIndex()
	for i := first; i <= last; {
		we, werr := want.Entries(i, last+1, 1<<20)
		ge, gerr := got.Entries(i, last+1, 1<<20)
		if werr != nil || gerr != nil {
			return fmt.Sprintf("reading entries from %d: %v / %v", i, werr, gerr)
		}
		if len(we) == 0 {
			return ""
		}
		for k := range we {
			if k >= len(ge) || ge[k].Term != we[k].Term || ge[k].Type != we[k].Type || !bytes.Equal(ge[k].Data, we[k].Data) {
				return fmt.Sprintf("entry %d differs", we[k].Index)
			}
		}
		i = we[len(we)-1].Index + 1
	}
	return ""
}

func sameSnapshotMeta(a, b raft.SnapshotMeta) bool {
	return a.Index == b.Index && a.Term == b.Term && a.ConfigIndex == b.ConfigIndex
}

func readFile(fs *vfs.Mem, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if size == 0 {
		return data, nil
	}
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	return data, nil
}
