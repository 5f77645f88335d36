package driver

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Every datagram and every stream frame body starts with a type byte. The
// core's messages use 1..127 (swim/message.go, appended from 1); the
// driver's envelope types live at 0xE0 and up so the two never meet.
//
// The values are on the wire: only append, never renumber or reuse.
const (
	// typeEncrypted marks an AES-GCM envelope around a core message.
	typeEncrypted byte = 0xE0
	// maxCoreType bounds the core's type numbers as the driver sees them.
	maxCoreType byte = 0x7F
)

// envelopeVersion is the second byte of an envelope; a receiver drops a
// version it does not know.
const envelopeVersion = 1

// channel says where an envelope travels. It is authenticated (part of
// the GCM additional data) so a datagram cannot be replayed as a stream
// message or the reverse.
type channel byte

const (
	chanPacket channel = 'p'
	chanStream channel = 's'
)

const (
	nonceSize        = 12 // GCM standard nonce
	tagSize          = 16 // GCM tag
	envelopeHeader   = 2  // type, version
	envelopeOverhead = envelopeHeader + nonceSize + tagSize
)

var (
	// ErrUndecryptable: no installed key opens the envelope (wrong key,
	// tampered or truncated bytes). Counted and dropped by the driver.
	ErrUndecryptable = errors.New("swim/driver: undecryptable envelope")
	// ErrPlaintext: a plaintext message arrived while encryption is on and
	// AcceptPlaintext is off; or an envelope arrived with no keyring.
	ErrPlaintext = errors.New("swim/driver: plaintext message refused")
	// ErrEnvelope: the bytes are not an envelope this version knows.
	ErrEnvelope = errors.New("swim/driver: malformed envelope")
)

// sealEnvelope appends to dst:
//
//	 0        1        2                   14                       n
//	+--------+--------+-------------------+------------------------+
//	| 0xE0   | vsn=1  | nonce (12 bytes)  | ciphertext | tag (16)  |
//	+--------+--------+-------------------+------------------------+
//
// AAD = type, vsn, channel. The nonce is read from nonces, which must be
// crypto/rand in production: 96 random bits per message keep the chance
// of a repeat negligible for far more messages than a key sees.
func sealEnvelope(dst []byte, a cipher.AEAD, nonces io.Reader, ch channel, plain []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, typeEncrypted, envelopeVersion)
	dst = append(dst, make([]byte, nonceSize)...)
	nonce := dst[start+envelopeHeader : start+envelopeHeader+nonceSize]
	if _, err := io.ReadFull(nonces, nonce); err != nil {
		return nil, fmt.Errorf("swim/driver: seal: nonce: %w", err)
	}
	aad := [3]byte{typeEncrypted, envelopeVersion, byte(ch)}
	return a.Seal(dst, nonce, plain, aad[:]), nil
}

// openEnvelope checks the header and tries each AEAD in order. It never
// panics on any input (FuzzOpenEnvelope).
func openEnvelope(aeads []cipher.AEAD, ch channel, env []byte) ([]byte, error) {
	if len(env) < envelopeOverhead {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrEnvelope, len(env), envelopeOverhead)
	}
	if env[0] != typeEncrypted {
		return nil, fmt.Errorf("%w: type 0x%02x", ErrEnvelope, env[0])
	}
	if env[1] != envelopeVersion {
		return nil, fmt.Errorf("%w: version %d", ErrEnvelope, env[1])
	}
	nonce := env[envelopeHeader : envelopeHeader+nonceSize]
	ct := env[envelopeHeader+nonceSize:]
	aad := [3]byte{typeEncrypted, envelopeVersion, byte(ch)}
	for _, a := range aeads {
		if plain, err := a.Open(nil, nonce, ct, aad[:]); err == nil {
			return plain, nil
		}
	}
	return nil, ErrUndecryptable
}

// wrap turns a core message into what goes on the wire: an envelope when
// kr is set, else the message itself.
func wrap(kr *Keyring, ch channel, msg []byte) ([]byte, error) {
	if kr == nil {
		return msg, nil
	}
	return kr.seal(make([]byte, 0, len(msg)+envelopeOverhead), ch, msg)
}

// unwrap is wrap's inverse. With a keyring, plaintext is refused unless
// acceptPlaintext (a pool turning encryption on); without one, an
// envelope cannot be read.
func unwrap(kr *Keyring, acceptPlaintext bool, ch channel, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrEnvelope)
	}
	switch {
	case b[0] == typeEncrypted && kr != nil:
		return kr.open(ch, b)
	case b[0] == typeEncrypted:
		return nil, ErrUndecryptable
	case b[0] > maxCoreType:
		return nil, fmt.Errorf("%w: type 0x%02x", ErrEnvelope, b[0])
	case kr != nil && !acceptPlaintext:
		return nil, ErrPlaintext
	}
	return b, nil
}

// A stream carries one request frame and one reply frame:
//
//	+---------------------+--------------------------------------+
//	| length:4 big-endian | body: envelope or plain core message |
//	+---------------------+--------------------------------------+
//
// A zero length is a reply of "nothing" (the core had no answer).
const frameHeader = 4

func writeFrame(w io.Writer, body []byte) error {
	buf := make([]byte, frameHeader, frameHeader+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err := w.Write(append(buf, body...))
	return err
}

// readFrame reads one frame of at most limit bytes; the length is checked
// before anything is allocated.
func readFrame(r io.Reader, limit int) ([]byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("%w: stream frame of %d bytes, limit %d", ErrEnvelope, n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}
