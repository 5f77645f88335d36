package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Connection kinds: the first byte a dialer writes. Append only: a value,
// once released, keeps its meaning.
const (
	kindRaftPriority byte = 'R' // votes, heartbeats, ReadIndex (Message.IsPriority)
	kindRaftAppend   byte = 'A' // every other Raft message: AppendEntries and their answers
	kindSnapshot     byte = 'S' // one snapshot stream, then the receiver's ack
	kindRPC          byte = 'C' // multiplexed request/response calls
)

// wireVersion is the second byte of every connection. It is bumped on any
// change of the layouts drawn in doc.go.
const wireVersion byte = 1

// Frame limits. Every length read from the network is checked against
// them before anything is allocated.
const (
	frameHeaderLen = 4 // uint32 big-endian length of what follows
	// maxChunkBytes bounds one snapshot data chunk.
	maxChunkBytes = 1 << 20
	// rpcRequestFixed is id (8) + method length (1).
	rpcRequestFixed = 9
	// rpcResponseFixed is id (8) + status (1).
	rpcResponseFixed = 9
	// maxMethodLen is what the method length byte can express.
	maxMethodLen = 255
	// snapTrailerLen is crc32c (4) + total data bytes (8).
	snapTrailerLen = 12
)

// RPC response status byte. Append only.
const (
	statusOK    byte = 0 // body is the handler's response
	statusError byte = 1 // body is the handler's error text
)

// Snapshot ack byte.
const (
	ackFailed byte = 0
	ackOK     byte = 1
)

// ErrBadFrame is wrapped by every error caused by malformed network input
// (as opposed to I/O errors), so that the connection is closed and counted.
var ErrBadFrame = errors.New("transport: bad frame")

// readHeader reads a frame's length and checks it against 1..limit.
func readHeader(r io.Reader, limit uint32) (uint32, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > limit {
		return 0, fmt.Errorf("%w: length %d outside 1..%d", ErrBadFrame, n, limit)
	}
	return n, nil
}

// readBody reads the n bytes of a frame whose header passed readHeader.
func readBody(r io.Reader, n uint32) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// readFrame reads one length-prefixed frame of at most limit bytes.
func readFrame(r io.Reader, limit uint32) ([]byte, error) {
	n, err := readHeader(r, limit)
	if err != nil {
		return nil, err
	}
	return readBody(r, n)
}

// appendFrameHeader appends the length prefix for an n-byte frame.
func appendFrameHeader(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// rpcRequest is a decoded client call.
type rpcRequest struct {
	id     uint64
	method string
	body   []byte
}

// encodeRequest returns the whole frame (length prefix included).
func encodeRequest(id uint64, method string, body []byte) []byte {
	n := rpcRequestFixed + len(method) + len(body)
	b := make([]byte, 0, frameHeaderLen+n)
	b = appendFrameHeader(b, n)
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, byte(len(method)))
	b = append(b, method...)
	return append(b, body...)
}

// parseRequest decodes a request frame's body (after the length prefix).
// The returned body aliases b.
func parseRequest(b []byte) (rpcRequest, error) {
	if len(b) < rpcRequestFixed {
		return rpcRequest{}, fmt.Errorf("%w: request of %d bytes", ErrBadFrame, len(b))
	}
	id := binary.BigEndian.Uint64(b)
	mlen := int(b[8])
	rest := b[rpcRequestFixed:]
	if mlen == 0 || mlen > len(rest) {
		return rpcRequest{}, fmt.Errorf("%w: method length %d with %d bytes left", ErrBadFrame, mlen, len(rest))
	}
	return rpcRequest{id: id, method: string(rest[:mlen]), body: rest[mlen:]}, nil
}

// rpcResponse is a decoded answer.
type rpcResponse struct {
	id     uint64
	status byte
	body   []byte
}

// encodeResponse returns the whole frame (length prefix included).
func encodeResponse(id uint64, status byte, body []byte) []byte {
	n := rpcResponseFixed + len(body)
	b := make([]byte, 0, frameHeaderLen+n)
	b = appendFrameHeader(b, n)
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, status)
	return append(b, body...)
}

// parseResponse decodes a response frame's body. The body aliases b.
func parseResponse(b []byte) (rpcResponse, error) {
	if len(b) < rpcResponseFixed {
		return rpcResponse{}, fmt.Errorf("%w: response of %d bytes", ErrBadFrame, len(b))
	}
	r := rpcResponse{id: binary.BigEndian.Uint64(b), status: b[8], body: b[rpcResponseFixed:]}
	if r.status != statusOK && r.status != statusError {
		return rpcResponse{}, fmt.Errorf("%w: response status %d", ErrBadFrame, r.status)
	}
	return r, nil
}
