package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"time"

	"github.com/agentd/agentd/raft"
)

// stagedPattern names staged snapshot files in the staging directory.
const stagedPattern = "snap-*.staged"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SendSnapshot implements driver.Transport: it streams the file on a
// connection of its own (so it never delays either Raft lane) and calls
// done with the receiver's acknowledgement, on another goroutine.
func (t *TCP) SendSnapshot(to raft.NodeID, addr string, m raft.Message, open func() (io.ReadCloser, error), done func(ok bool)) {
	ok := t.spawn(func() {
		err := t.streamSnapshot(addr, &m, open)
		if err != nil {
			t.stats.snapsSendFailed.Add(1)
			t.log.Warn("transport: snapshot stream", "to", to, "addr", addr, "index", m.Snapshot.Index, "err", err)
		} else {
			t.stats.snapsSent.Add(1)
		}
		done(err == nil)
	})
	if !ok {
		// Never call done on the caller's goroutine: it may be the loop
		// that done posts back to.
		go done(false)
	}
}

// streamSnapshot sends m and the snapshot's bytes and waits for the ack.
func (t *TCP) streamSnapshot(addr string, m *raft.Message, open func() (io.ReadCloser, error)) error {
	if m.Type != raft.MsgSnap || m.Snapshot == nil {
		panic(fmt.Sprintf("transport: SendSnapshot with %v (snapshot %v)", m.Type, m.Snapshot))
	}
	header := raft.EncodeMessage(m)
	if len(header) > raft.MaxMessageBytes {
		return fmt.Errorf("transport: snapshot header of %d bytes", len(header))
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("transport: open snapshot %d: %w", m.Snapshot.Index, err)
	}
	defer rc.Close()
	c, err := t.dial(t.ctx, addr, kindSnapshot)
	if err != nil {
		return err
	}
	defer t.untrack(c)
	bw := bufio.NewWriterSize(c, 64<<10)
	deadline := func() { _ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)) }
	if err := writeSnapshotStream(bw, header, rc, deadline); err != nil {
		return err
	}
	deadline()
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("transport: snapshot stream: %w", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(t.cfg.SnapshotAckTimeout))
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("transport: snapshot ack: %w", err)
	}
	if ack[0] != ackOK {
		return fmt.Errorf("transport: snapshot refused by %s", addr)
	}
	return nil
}

// writeSnapshotStream writes the header frame, the data from r in chunks,
// the end mark and the trailer. beforeWrite runs before each write (it
// sets the connection's deadline).
func writeSnapshotStream(w io.Writer, header []byte, r io.Reader, beforeWrite func()) error {
	buf := make([]byte, frameHeaderLen+maxChunkBytes)
	beforeWrite()
	if _, err := w.Write(appendFrameHeader(nil, len(header))); err != nil {
		return fmt.Errorf("transport: snapshot stream: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("transport: snapshot stream: %w", err)
	}
	crc := crc32.New(castagnoli)
	var total uint64
	for {
		n, rerr := io.ReadFull(r, buf[frameHeaderLen:])
		if n > 0 {
			appendFrameHeader(buf[:0], n)
			crc.Write(buf[frameHeaderLen : frameHeaderLen+n])
			total += uint64(n)
			beforeWrite()
			if _, err := w.Write(buf[:frameHeaderLen+n]); err != nil {
				return fmt.Errorf("transport: snapshot stream: %w", err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("transport: read snapshot file: %w", rerr)
		}
	}
	end := make([]byte, 0, frameHeaderLen+snapTrailerLen)
	end = appendFrameHeader(end, 0)
	end = binary.BigEndian.AppendUint32(end, crc.Sum32())
	end = binary.BigEndian.AppendUint64(end, total)
	beforeWrite()
	if _, err := w.Write(end); err != nil {
		return fmt.Errorf("transport: snapshot stream: %w", err)
	}
	return nil
}

// readSnapshotData copies the chunks after the header frame from r to w,
// up to maxTotal bytes, and checks the trailer. beforeChunk runs before
// each chunk header is read (it sets the connection's deadline).
func readSnapshotData(r io.Reader, w io.Writer, maxTotal int64, beforeChunk func()) (int64, error) {
	crc := crc32.New(castagnoli)
	dst := io.MultiWriter(w, crc)
	var total int64
	for {
		beforeChunk()
		var hdr [frameHeaderLen]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return total, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 {
			break
		}
		if n > maxChunkBytes {
			return total, fmt.Errorf("%w: snapshot chunk of %d bytes, limit %d", ErrBadFrame, n, maxChunkBytes)
		}
		if total+int64(n) > maxTotal {
			return total, fmt.Errorf("%w: snapshot over %d bytes", ErrBadFrame, maxTotal)
		}
		if _, err := io.CopyN(dst, r, int64(n)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		total += int64(n)
	}
	var tr [snapTrailerLen]byte
	if _, err := io.ReadFull(r, tr[:]); err != nil {
		return total, err
	}
	if sum, n := binary.BigEndian.Uint32(tr[:4]), binary.BigEndian.Uint64(tr[4:]); sum != crc.Sum32() || n != uint64(total) {
		return total, fmt.Errorf("%w: snapshot trailer crc %#x len %d, read crc %#x len %d", ErrBadFrame, sum, n, crc.Sum32(), total)
	}
	return total, nil
}

// serveSnapshot stages one inbound stream, hands it to the receiver, and
// acknowledges.
func (t *TCP) serveSnapshot(c net.Conn, br *bufio.Reader) error {
	err := t.receiveSnapshot(c, br)
	ack := ackOK
	if err != nil {
		ack = ackFailed
		t.stats.snapsRecvFail.Add(1)
	} else {
		t.stats.snapsRecv.Add(1)
	}
	_ = c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if _, werr := c.Write([]byte{ack}); werr != nil && err == nil {
		// The receiver has the snapshot; the sender will retry, which
		// the core tolerates (a second stale MsgSnap is ignored).
		t.log.Debug("transport: snapshot ack", "err", werr)
	}
	return err
}

func (t *TCP) receiveSnapshot(c net.Conn, br *bufio.Reader) error {
	_ = c.SetReadDeadline(time.Now().Add(t.cfg.ReadTimeout))
	hdr, err := readFrame(br, raft.MaxMessageBytes)
	if err != nil {
		return err
	}
	m, err := raft.DecodeMessage(hdr)
	if err != nil {
		return fmt.Errorf("%w: snapshot header: %w", ErrBadFrame, err)
	}
	if m.Type != raft.MsgSnap || m.Snapshot == nil {
		return fmt.Errorf("%w: snapshot header is %v", ErrBadFrame, m.Type)
	}
	f, err := os.CreateTemp(t.cfg.StagingDir, stagedPattern)
	if err != nil {
		return fmt.Errorf("transport: stage snapshot: %w", err)
	}
	_, err = readSnapshotData(br, f, t.cfg.MaxSnapshotBytes, func() {
		_ = c.SetReadDeadline(time.Now().Add(t.cfg.ReadTimeout))
	})
	if err == nil {
		err = f.Sync() // the handler may install it after a crash-free ack
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	r := t.receiver()
	if err == nil && r == nil {
		err = errors.New("transport: no receiver for snapshot")
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	r.DeliverSnapshot(m, stagedFile(f.Name()))
	return nil
}
