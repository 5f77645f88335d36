package driver

import (
	"bytes"
	"testing"
)

// FuzzOpenEnvelope feeds arbitrary bytes to the receive path (unwrap with
// and without a keyring, on both channels, and the stream frame reader):
// it must never panic, and anything it accepts must survive a re-seal.
// The seed corpus in testdata/fuzz/FuzzOpenEnvelope holds valid envelopes
// (both channels, both keys), a plain message, and broken headers.
func FuzzOpenEnvelope(f *testing.F) {
	kr, err := NewKeyring([]string{key(1, 32), key(2, 16)}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{3, 1, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ch := range []channel{chanPacket, chanStream} {
			msg, err := unwrap(kr, false, ch, b)
			if err != nil {
				continue
			}
			again, err := wrap(kr, ch, msg)
			if err != nil {
				t.Fatal(err)
			}
			back, err := unwrap(kr, false, ch, again)
			if err != nil || !bytes.Equal(back, msg) {
				t.Fatalf("re-seal round trip: %q %v", back, err)
			}
		}
		unwrap(nil, false, chanPacket, b)
		unwrap(kr, true, chanPacket, b)
		readFrame(bytes.NewReader(b), 1<<16)
	})
}
