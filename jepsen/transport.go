package jepsen

import (
	"fmt"
	"io"
	"time"

	"github.com/agentd/agentd/internal/vfs"
	"github.com/agentd/agentd/jepsen/check"
	"github.com/agentd/agentd/jepsen/world"
	"github.com/agentd/agentd/raft"
)

// transport is a node's driver.Transport on the world network: messages
// travel as raft.EncodeMessage datagrams (lost, duplicated, reordered,
// partitioned by the network), snapshots as a world stream carrying the
// encoded MsgSnap and then the snapshot file's bytes.
type transport struct{ n *node }

// snapshotBackoff delays the report of a failed transfer, as a real
// dialer's back-off would: reporting at once lets the core re-send the
// snapshot in the same instant, forever.
const snapshotBackoff = 50 * time.Millisecond

// Send is where a message leaves the node: the durable-before-send
// checker judges the bytes about to enter the network against what the
// node has made durable.
func (t transport) Send(to raft.NodeID, addr string, payload []byte, priority bool) {
	// The Decoder aliases payload (not modified afterwards) instead of
	// copying entries: a full decode per send is a tenth of a run.
	m, err := t.n.sendDec.Decode(payload)
	if err != nil {
		t.n.c.check.Fail(check.InternalError, "%s: sending an undecodable message to %s: %v", t.n.id, to, err)
		return
	}
	t.n.c.check.Sending(t.n.id, &m)
	t.n.host.Send(addr, payload)
	t.n.c.sentByLeader(t.n, &m)
}

func (t transport) SendSnapshot(to raft.NodeID, addr string, msg raft.Message, open func() (io.ReadCloser, error), done func(ok bool)) {
	n := t.n
	h := n.h
	fail := func(unreachable bool) {
		n.host.Go(0, func() {
			if unreachable && n.h == h {
				h.ReportUnreachable(to)
			}
		})
		n.host.Go(snapshotBackoff, func() { done(false) })
	}
	data, err := readAll(open)
	if err != nil {
		n.c.w.Tracef("%s snapshot %d unreadable for %s: %v", n.id, msg.Snapshot.Index, to, err)
		fail(false)
		return
	}
	s, err := n.host.Dial(addr)
	if err != nil {
		fail(true)
		return
	}
	n.c.w.Tracef("%s stream snapshot index=%d to %s (%d bytes)", n.id, msg.Snapshot.Index, to, len(data))
	s.Write(raft.EncodeMessage(&msg))
	s.Write(data)
	s.Close(func(err error) {
		if err != nil {
			fail(false)
			return
		}
		done(true)
	})
}

func readAll(open func() (io.ReadCloser, error)) ([]byte, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// acceptSnapshot receives a snapshot stream: the bytes are staged in a
// file on the host's disk, then the MsgSnap and the staged file go to the
// handler, which installs them if the core takes the snapshot.
func (n *node) acceptSnapshot(s *world.Stream) {
	var chunks [][]byte
	s.Receive(func(b []byte) { chunks = append(chunks, b) }, func(err error) {
		if err != nil || n.h == nil || len(chunks) != 2 {
			return
		}
		m, err := raft.DecodeMessage(chunks[0])
		if err != nil || m.Type != raft.MsgSnap || m.Snapshot == nil {
			return
		}
		path := fmt.Sprintf("%s/%d", stagingDir, s.ID())
		if err := writeFile(n.host.FS(), path, chunks[1]); err != nil {
			n.c.w.Tracef("%s staging snapshot %d: %v", n.id, m.Snapshot.Index, err)
			return
		}
		n.c.w.Tracef("deliver %s->%s MsgSnap term=%d index=%d", m.From, m.To, m.Term, m.Snapshot.Index)
		n.c.maybeCrashDuring(n, FaultCrashSnapshot, n.c.swarm.CrashInSnapshotPPM)
		n.h.ReceiveSnapshot(m, stagedFile{fs: n.host.FS(), path: path})
	})
}

func writeFile(fs vfs.FS, path string, data []byte) error {
	f, err := fs.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stagedFile is a received snapshot in the staging directory
// (driver.Staged).
type stagedFile struct {
	fs   vfs.FS
	path string
}

func (s stagedFile) Open() (io.ReadCloser, error) {
	f, err := s.fs.Open(s.path)
	if err != nil {
		return nil, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, size), f}, nil
}

func (s stagedFile) Remove() error { return s.fs.Remove(s.path) }
