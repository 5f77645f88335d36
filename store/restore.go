package store

import "bytes"

// Staged restore: a /v1/snapshot restore larger than one Raft entry.
//
// The proposer cuts the snapshot into RestoreChunk commands (each well under
// raft MaxEntrySize) and ends with a RestoreCommit. Chunks accumulate in a
// stage that is part of the replicated state but invisible to reads: it
// moves no table index and fires no watch. It is written into FSM
// snapshots (record kind recRestoreChunk), so a server that installs a
// snapshot taken mid-upload holds the same stage as the others, and the
// commit does the same thing everywhere. The commit applies the staged
// bytes exactly as RestoreState does, at its own index.
//
//	CmdRestoreChunk   id uvarint | offset uvarint | total uvarint | data bytes
//	CmdRestoreCommit  id uvarint | size uvarint | abort bool
//
// Only one stage exists: a chunk at offset 0 starts a new one, replacing
// any other (a concurrent restore then fails at its next chunk). A chunk
// that is already staged (same id, inside the staged bytes) is accepted and
// changes nothing, so a proposer may retry a chunk whose outcome it did
// not learn.

// maxRestoreTotal bounds a staged restore; maxRestoreReserve the capacity
// reserved for it at its first chunk (a larger one grows by appends).
const (
	maxRestoreTotal   = 4 << 30
	maxRestoreReserve = 256 << 20
)

// RestoreChunkBytes is the chunk size proposers should use: a chunk plus
// its command header stays well under raft's 1 MiB MaxEntrySize.
const RestoreChunkBytes = 512 << 10

// restoreStage is the staged restore. A published stage is never modified:
// a chunk builds a new stage whose data may share the backing array, but
// writes only past the published length.
type restoreStage struct {
	id   uint64 // chosen by the proposer (random)
	data []byte // bytes staged so far
}

// RestoreChunk stages data at offset of restore id (total bytes in all).
type RestoreChunk struct {
	ID     uint64
	Offset uint64
	Total  uint64
	Data   []byte
}

func (*RestoreChunk) Type() CmdType { return CmdRestoreChunk }

func (r *RestoreChunk) encode(e *encoder) {
	e.uvarint(r.ID)
	e.uvarint(r.Offset)
	e.uvarint(r.Total)
	e.bytes(r.Data)
}

// RestoreCommit replaces the state with the staged restore id of size
// bytes (as RestoreState), or with Abort drops the stage.
type RestoreCommit struct {
	ID    uint64
	Size  uint64
	Abort bool
}

func (*RestoreCommit) Type() CmdType { return CmdRestoreCommit }

func (r *RestoreCommit) encode(e *encoder) {
	e.uvarint(r.ID)
	e.uvarint(r.Size)
	e.bool1(r.Abort)
}

// restoreChunk applies a RestoreChunk.
func (x *tx) restoreChunk(c *RestoreChunk) error {
	end := c.Offset + uint64(len(c.Data))
	switch st := x.t.restore; {
	case c.Total > maxRestoreTotal || end > c.Total || end < c.Offset:
		return rejected("restore chunk: %d bytes at %d of %d (at most %d in all)", len(c.Data), c.Offset, c.Total, maxRestoreTotal)
	case c.Offset == 0 && (st == nil || st.id != c.ID):
		data := make([]byte, len(c.Data), max(min(c.Total, maxRestoreReserve), uint64(len(c.Data))))
		copy(data, c.Data)
		x.t.restore = &restoreStage{id: c.ID, data: data}
	case st == nil || st.id != c.ID:
		return rejected("restore chunk: restore %x is not staged (another restore replaced it?)", c.ID)
	case end <= uint64(len(st.data)):
		// A retry of a chunk already staged.
		if !bytes.Equal(st.data[c.Offset:end], c.Data) {
			return rejected("restore chunk: bytes at %d differ from the staged ones", c.Offset)
		}
	case c.Offset != uint64(len(st.data)):
		return rejected("restore chunk: offset %d, staged %d bytes", c.Offset, len(st.data))
	default:
		x.t.restore = &restoreStage{id: st.id, data: append(st.data, c.Data...)}
	}
	return nil
}

// restoreCommit applies a RestoreCommit. A failed commit is rolled back
// like any rejected command, leaving the stage: the proposer aborts.
func (x *tx) restoreCommit(c *RestoreCommit) error {
	st := x.t.restore
	if st == nil || st.id != c.ID {
		return rejected("restore commit: restore %x is not staged", c.ID)
	}
	if c.Abort {
		x.t.restore = nil
		return nil
	}
	if uint64(len(st.data)) != c.Size {
		return rejected("restore commit: %d bytes staged, want %d", len(st.data), c.Size)
	}
	return x.restoreState(st.data) // fresh tables: no stage
}

// VerifySnapshot checks that data is a whole, valid store snapshot (what
// a restore would accept) without changing anything.
func VerifySnapshot(data []byte) error {
	_, err := readSnapshot(bytes.NewReader(data))
	return err
}

// records writes the stage as snapshot records of at most
// RestoreChunkBytes each (so a record stays under maxRecordLen however
// large the stage): id uvarint | data bytes.
func (st *restoreStage) records(rec func(recordKind, func(*encoder)) bool) {
	if st == nil {
		return
	}
	for off := 0; off == 0 || off < len(st.data); off += RestoreChunkBytes {
		p := st.data[off:min(off+RestoreChunkBytes, len(st.data))]
		if !rec(recRestoreChunk, func(e *encoder) { e.uvarint(st.id); e.bytes(p) }) {
			return
		}
	}
}

// loadStageRecord appends one recRestoreChunk record to t's stage.
func (t *tables) loadStageRecord(d *decoder) {
	id := d.uvarint()
	p := d.bytes(maxValueLen)
	if d.err != nil {
		return
	}
	switch {
	case t.restore == nil:
		t.restore = &restoreStage{id: id, data: p}
	case t.restore.id != id:
		d.fail("restore stage records of two restores (%x, %x)", t.restore.id, id)
	default:
		t.restore.data = append(t.restore.data, p...)
	}
}
