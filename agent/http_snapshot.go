package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/agentd/agentd/store"
)

// maxRestoreBytes bounds a snapshot restored through the API. The body is
// held in memory while it is checked and staged, and every server holds
// the stage until the commit.
const maxRestoreBytes = 1 << 30

// restoreChunkRetries: attempts per chunk whose outcome was not learned
// (a leader change, a timeout); a staged chunk's retry is a no-op.
const restoreChunkRetries = 3

// snapshot serves /v1/snapshot: GET saves, PUT restores.
func (a *Agent) snapshot(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPut {
		return a.snapshotRestore(w, r)
	}
	return a.snapshotSave(w, r)
}

// snapshotSave streams the store's state (agentd's own format, not
// Consul's archive) from a leader-consistent view.
func (a *Agent) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	o, err := parseQueryOptions(r.URL.Query(), r.Header)
	if err != nil {
		return err
	}
	if err := a.srv.readBarrier(r.Context(), o.consistency); err != nil {
		return err
	}
	sn := a.store.Snapshot()
	w.Header().Set("Content-Type", "application/octet-stream")
	// The read headers go out before the body, as Consul's.
	setMeta(w, a.queryMeta(sn.Index(), o.consistency))
	_, err = sn.WriteTo(w)
	return err
}

// snapshotRestore replaces the state through Raft so every server ends
// identical and indexes move forward. A snapshot that fits one Raft entry
// is one RestoreState command; a larger one is staged in chunks on every
// server and committed (store/restore.go). The body is verified first, so
// a damaged upload is a 400 before anything is proposed.
func (a *Agent) snapshotRestore(w http.ResponseWriter, r *http.Request) error {
	body, err := readRestoreBody(w, r)
	if err != nil {
		return err
	}
	if err := store.VerifySnapshot(body); err != nil {
		return errBadRequestf("%v", err)
	}
	if len(body) <= store.RestoreChunkBytes {
		res, err := a.apply(r.Context(), &store.RestoreState{Data: body})
		if err != nil {
			return err
		}
		if res.Err != nil {
			return errBadRequestf("%v", res.Err)
		}
		return nil
	}
	return a.stagedRestore(r.Context(), body)
}

// readRestoreBody reads the body (at most maxRestoreBytes) into a buffer
// sized from Content-Length.
func readRestoreBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxRestoreBytes {
		return nil, &http.MaxBytesError{Limit: maxRestoreBytes}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// A declared length is a hint, not a promise: reserve at most 64 MiB.
		buf.Grow(int(min(r.ContentLength, 64<<20)))
	}
	_, err := io.Copy(&buf, http.MaxBytesReader(w, r.Body, maxRestoreBytes))
	return buf.Bytes(), err
}

// stagedRestore proposes data as RestoreChunks and a RestoreCommit. On
// failure it aborts the stage (best effort) so servers do not keep it.
func (a *Agent) stagedRestore(ctx context.Context, data []byte) error {
	id := restoreID()
	for off := 0; off < len(data); off += store.RestoreChunkBytes {
		c := &store.RestoreChunk{ID: id, Offset: uint64(off), Total: uint64(len(data)),
			Data: data[off:min(off+store.RestoreChunkBytes, len(data))]}
		if err := a.applyRetried(ctx, c); err != nil {
			a.abortRestore(id)
			return fmt.Errorf("snapshot restore: staging at %d of %d bytes: %w", off, len(data), err)
		}
	}
	res, err := a.apply(ctx, &store.RestoreCommit{ID: id, Size: uint64(len(data))})
	if err == nil && res.Err != nil {
		err = res.Err
	}
	if err != nil {
		a.abortRestore(id)
		return fmt.Errorf("snapshot restore: commit: %w", err)
	}
	a.log.Info("snapshot restored", "bytes", len(data), "index", res.Index)
	return nil
}

// applyRetried applies an idempotent op, retrying when its outcome is
// unknown; a rejection is final.
func (a *Agent) applyRetried(ctx context.Context, op store.Op) error {
	var err error
	for range restoreChunkRetries {
		var res *store.Result
		res, err = a.apply(ctx, op)
		if err == nil {
			return res.Err
		}
		if ctx.Err() != nil {
			return err
		}
		a.log.Warn("snapshot restore: retrying a chunk", "error", err)
	}
	return err
}

// abortRestore drops restore id's stage on every server.
func (a *Agent) abortRestore(id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), rpcHoldTimeout)
	defer cancel()
	res, err := a.apply(ctx, &store.RestoreCommit{ID: id, Abort: true})
	if err == nil && res.Err != nil && !errors.Is(res.Err, store.ErrRejected) {
		err = res.Err
	}
	if err != nil {
		a.log.Warn("snapshot restore: abort failed; the stage stays until the next restore", "error", err)
	}
}

// restoreID is a random, non-zero restore ID.
func restoreID() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("agent: crypto/rand failed: %v", err))
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}
