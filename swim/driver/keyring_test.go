package driver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(b byte, n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n)) }

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"aes128", key(1, 16), true},
		{"aes192", key(1, 24), true},
		{"aes256", key(1, 32), true},
		{"consul keygen sample", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", true},
		{"short", key(1, 15), false},
		{"between", key(1, 20), false},
		{"long", key(1, 33), false},
		{"not base64", "not!base64", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseKey(%q) err=%v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ParseKey(k); err != nil || len(b) != 32 {
		t.Fatalf("GenerateKey gave %q: %v", k, err)
	}
}

func TestKeyringInstallUseRemove(t *testing.T) {
	a, b, c := key(1, 16), key(2, 24), key(3, 32)
	kr, err := NewKeyring([]string{a, a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var saved [][]string
	kr.save = func(keys [][]byte) error {
		var l []string
		for _, k := range keys {
			l = append(l, base64.StdEncoding.EncodeToString(k))
		}
		saved = append(saved, l)
		return nil
	}
	steps := []struct {
		name string
		op   func() error
		want []string // keys after, primary first
		err  bool
	}{
		{"dedup on create", func() error { return nil }, []string{a}, false},
		{"install b", func() error { return kr.Install(b) }, []string{a, b}, false},
		{"install b again is a no-op", func() error { return kr.Install(b) }, []string{a, b}, false},
		{"use unknown", func() error { return kr.Use(c) }, []string{a, b}, true},
		{"use b", func() error { return kr.Use(b) }, []string{b, a}, false},
		{"remove primary", func() error { return kr.Remove(b) }, []string{b, a}, true},
		{"remove unknown", func() error { return kr.Remove(c) }, []string{b, a}, true},
		{"remove a", func() error { return kr.Remove(a) }, []string{b}, false},
		{"install bad", func() error { return kr.Install("xx") }, []string{b}, true},
	}
	for _, s := range steps {
		err := s.op()
		if (err != nil) != s.err {
			t.Fatalf("%s: err=%v, want error=%v", s.name, err, s.err)
		}
		if got := kr.List(); strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Fatalf("%s: keys %v, want %v", s.name, got, s.want)
		}
	}
	if len(saved) != 3 || kr.Primary() != b {
		t.Errorf("saved %d times (want 3: install, use, remove), primary %v", len(saved), kr.Primary())
	}
	// A refused save leaves the keyring unchanged.
	kr.save = func([][]byte) error { return errors.New("disk full") }
	if err := kr.Install(c); err == nil || len(kr.List()) != 1 {
		t.Errorf("install with a failing save: err=%v keys=%v", err, kr.List())
	}
}

// The nonce source defaults to crypto/rand, and two keyrings built from
// the same key (as two identically seeded simulated nodes would be) seal
// the same plaintext to different bytes.
func TestNoncesFromCryptoRand(t *testing.T) {
	k1, _ := NewKeyring([]string{key(7, 32)}, nil)
	k2, _ := NewKeyring([]string{key(7, 32)}, nil)
	if k1.nonces != rand.Reader {
		t.Fatalf("default nonce source is %T, want crypto/rand.Reader", k1.nonces)
	}
	plain := []byte("\x03\x01\x05 the same message")
	e1, err1 := wrap(k1, chanPacket, plain)
	e2, err2 := wrap(k2, chanPacket, plain)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if bytes.Equal(e1, e2) || bytes.Equal(e1[2:14], e2[2:14]) {
		t.Fatal("identical ciphertexts or nonces from two keyrings")
	}
	for _, e := range [][]byte{e1, e2} {
		got, err := unwrap(k1, false, chanPacket, e)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open: %q %v", got, err)
		}
	}
}

func TestUnwrap(t *testing.T) {
	kr, _ := NewKeyring([]string{key(1, 32), key(2, 16)}, nil)
	other, _ := NewKeyring([]string{key(9, 32)}, nil)
	oldKey, _ := NewKeyring([]string{key(2, 16)}, nil) // a secondary of kr
	plain := []byte{3, 1, 42}
	sealed, _ := wrap(kr, chanPacket, plain)
	bySecondary, _ := wrap(oldKey, chanPacket, plain)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	badVsn := bytes.Clone(sealed)
	badVsn[1] = 2
	for _, tc := range []struct {
		name      string
		kr        *Keyring
		plainOK   bool
		ch        channel
		in        []byte
		want      []byte
		wantError error
	}{
		{"plain without keyring", nil, false, chanPacket, plain, plain, nil},
		{"sealed", kr, false, chanPacket, sealed, plain, nil},
		{"sealed by a secondary key", kr, false, chanPacket, bySecondary, plain, nil},
		{"wrong key", other, false, chanPacket, sealed, nil, ErrUndecryptable},
		{"wrong channel", kr, false, chanStream, sealed, nil, ErrUndecryptable},
		{"tampered", kr, false, chanPacket, tampered, nil, ErrUndecryptable},
		{"truncated", kr, false, chanPacket, sealed[:20], nil, ErrEnvelope},
		{"unknown version", kr, false, chanPacket, badVsn, nil, ErrEnvelope},
		{"envelope without keyring", nil, false, chanPacket, sealed, nil, ErrUndecryptable},
		{"plaintext refused", kr, false, chanPacket, plain, nil, ErrPlaintext},
		{"plaintext accepted", kr, true, chanPacket, plain, plain, nil},
		{"unknown type", nil, false, chanPacket, []byte{0x90, 1}, nil, ErrEnvelope},
		{"empty", kr, true, chanPacket, nil, nil, ErrEnvelope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unwrap(tc.kr, tc.plainOK, tc.ch, tc.in)
			if !errors.Is(err, tc.wantError) || !bytes.Equal(got, tc.want) {
				t.Fatalf("unwrap = %q, %v; want %q, %v", got, err, tc.want, tc.wantError)
			}
		})
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	writeFrame(&buf, []byte("hello"))
	writeFrame(&buf, nil)
	if b, err := readFrame(&buf, 16); err != nil || string(b) != "hello" {
		t.Fatalf("frame 1: %q %v", b, err)
	}
	if b, err := readFrame(&buf, 16); err != nil || len(b) != 0 {
		t.Fatalf("empty frame: %q %v", b, err)
	}
	// The length is checked before allocating.
	if _, err := readFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), 1<<20); !errors.Is(err, ErrEnvelope) {
		t.Fatalf("oversized frame: %v", err)
	}
	if _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 5, 'a'}), 16); err == nil {
		t.Fatal("short frame accepted")
	}
}
