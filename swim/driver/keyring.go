package driver

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// ErrKeyNotInstalled is returned by Use and Remove for an unknown key.
var ErrKeyNotInstalled = errors.New("swim/driver: key not installed")

// ParseKey decodes a gossip key as `consul keygen` prints it: standard
// base64 of 16, 24 or 32 bytes (AES-128, -192, -256).
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("swim/driver: key: not base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("swim/driver: key: %d bytes, want 16, 24 or 32", len(k))
}

// GenerateKey returns a new 32-byte key from crypto/rand in the form
// `consul keygen` prints.
func GenerateKey() (string, error) {
	k := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return "", fmt.Errorf("swim/driver: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// Keyring holds the gossip encryption keys. The primary key encrypts;
// every installed key is tried to decrypt, so a pool changes keys without
// a flag day: install the new key everywhere, use it everywhere, remove
// the old one everywhere (Consul's `keyring -install/-use/-remove`).
//
// Safe for concurrent use: the receive goroutines decrypt while the
// operator changes keys.
type Keyring struct {
	// nonces is the nonce source: crypto/rand.Reader in production. It is
	// never the simulation's seeded source: GCM with a repeated nonce
	// under one key leaks the authentication key.
	nonces io.Reader
	// save persists the new key list (primary first) before a change is
	// applied; nil when there is no data dir.
	save func(keys [][]byte) error

	// mu guards keys and aeads. apply replaces both slices and never
	// mutates them in place, so a reader may keep using the slices it
	// read after RUnlock.
	mu sync.RWMutex
	// keys are the installed keys, primary first. Invariant: no
	// duplicates; len(keys) == len(aeads); never empty.
	keys  [][]byte
	aeads []cipher.AEAD
}

// NewKeyring returns a keyring with keys (base64, the first is primary).
// nonces is the nonce source; nil means crypto/rand.Reader, which is what
// production must use.
func NewKeyring(keys []string, nonces io.Reader) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("swim/driver: keyring: no keys")
	}
	if nonces == nil {
		nonces = rand.Reader
	}
	kr := &Keyring{nonces: nonces}
	for _, s := range keys {
		k, err := ParseKey(s)
		if err != nil {
			return nil, err
		}
		if kr.index(k) >= 0 {
			continue
		}
		a, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		kr.keys = append(kr.keys, k)
		kr.aeads = append(kr.aeads, a)
	}
	return kr, nil
}

func newAEAD(k []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("swim/driver: key: %w", err)
	}
	return cipher.NewGCM(b)
}

// index returns the position of k, or -1. Caller holds mu.
func (kr *Keyring) index(k []byte) int {
	return slices.IndexFunc(kr.keys, func(x []byte) bool { return bytes.Equal(x, k) })
}

// List returns the installed keys in base64, primary first.
func (kr *Keyring) List() []string {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	out := make([]string, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = base64.StdEncoding.EncodeToString(k)
	}
	return out
}

// Primary returns the key that encrypts, in base64.
func (kr *Keyring) Primary() string { return kr.List()[0] }

// Install adds a key for decryption. Installing a present key is a no-op.
func (kr *Keyring) Install(key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return err
	}
	a, err := newAEAD(k)
	if err != nil {
		return err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.index(k) >= 0 {
		return nil
	}
	return kr.apply(append(slices.Clone(kr.keys), k), append(slices.Clone(kr.aeads), a))
}

// Use makes an installed key the primary.
func (kr *Keyring) Use(key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	i := kr.index(k)
	if i < 0 {
		return fmt.Errorf("swim/driver: keyring use: %w", ErrKeyNotInstalled)
	}
	keys, aeads := slices.Clone(kr.keys), slices.Clone(kr.aeads)
	keys[0], keys[i] = keys[i], keys[0]
	aeads[0], aeads[i] = aeads[i], aeads[0]
	return kr.apply(keys, aeads)
}

// Remove uninstalls a key. The primary cannot be removed: Use another
// key first.
func (kr *Keyring) Remove(key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	i := kr.index(k)
	switch {
	case i < 0:
		return fmt.Errorf("swim/driver: keyring remove: %w", ErrKeyNotInstalled)
	case i == 0:
		return errors.New("swim/driver: keyring remove: the primary key cannot be removed")
	}
	return kr.apply(slices.Delete(slices.Clone(kr.keys), i, i+1), slices.Delete(slices.Clone(kr.aeads), i, i+1))
}

// apply persists then installs a new key list, so a change the disk
// refused is not in effect either. Caller holds mu for writing.
func (kr *Keyring) apply(keys [][]byte, aeads []cipher.AEAD) error {
	if kr.save != nil {
		if err := kr.save(keys); err != nil {
			return fmt.Errorf("swim/driver: keyring: persist: %w", err)
		}
	}
	kr.keys, kr.aeads = keys, aeads
	return nil
}

// seal encrypts plain under the primary key into an envelope appended to
// dst (see envelope.go).
func (kr *Keyring) seal(dst []byte, ch channel, plain []byte) ([]byte, error) {
	kr.mu.RLock()
	a := kr.aeads[0]
	kr.mu.RUnlock()
	return sealEnvelope(dst, a, kr.nonces, ch, plain)
}

// open decrypts an envelope with each installed key, primary first
// (trial decryption: the envelope does not name its key, as memberlist's).
func (kr *Keyring) open(ch channel, env []byte) ([]byte, error) {
	kr.mu.RLock()
	aeads := kr.aeads
	kr.mu.RUnlock()
	return openEnvelope(aeads, ch, env)
}
