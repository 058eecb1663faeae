package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/flynn/noise"
)

// directPair returns two sessions over an in-memory stream keyed without a
// handshake, for the fuzzer, which needs many and fast.
func directPair(tb testing.TB, lim Limits) (cli, srv *Session) {
	tb.Helper()
	suite := noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
	k1, k2 := [32]byte{1}, [32]byte{2}
	a, b := memConnPair()
	lim = lim.WithDefaults()
	cli, err := newSession(a, PatternIK, PublicKey{}, lim, noise.UnsafeNewCipherState(suite, k1, 0), noise.UnsafeNewCipherState(suite, k2, 0))
	if err != nil {
		tb.Fatal(err)
	}
	srv, err = newSession(b, PatternIK, PublicKey{}, lim, noise.UnsafeNewCipherState(suite, k2, 0), noise.UnsafeNewCipherState(suite, k1, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return cli, srv
}

// FuzzReadFrame sends data as the plaintext stream, cut into Noise messages
// at places chosen by cuts, and checks that ReadFrame returns exactly the
// frames a plain parse of data finds, then the right final error: io.EOF at
// a frame boundary, io.ErrUnexpectedEOF inside a frame, ErrFrameTooLarge at
// a header over the limit. On error it returns no frame.
func FuzzReadFrame(f *testing.F) {
	two := append(frame(1, nil), frame(2, pattern(2, 100))...)
	f.Add(frame(1, pattern(1, 30)), []byte{5})
	f.Add(two, []byte{3, 200, 1})
	f.Add(two, []byte{255})
	f.Add(frame(1, make([]byte, 5000)), []byte{0xff})
	f.Add(frame(1, pattern(1, 10))[:15], []byte{7})
	f.Add(frame(1, pattern(1, 4096)), []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		const limit = 4096
		cli, srv := directPair(t, Limits{MaxFrameSize: limit})
		for i, rest := 0, data; len(rest) > 0; i++ {
			n := 1
			if len(cuts) > 0 {
				n = int(cuts[i%len(cuts)]) + 1
			}
			n = min(n, len(rest))
			cli.writePlain(t, rest[:n])
			rest = rest[n:]
		}
		cli.Close()

		for rest := data; ; {
			got, err := srv.ReadFrame()
			if len(rest) >= HeaderSize {
				body := uint64(binary.BigEndian.Uint32(rest[lengthOffset:]))
				if body > limit {
					if got != nil || !errors.Is(err, ErrFrameTooLarge) {
						t.Fatalf("header over the limit: %d bytes, %v; want ErrFrameTooLarge", len(got), err)
					}
					return
				}
				if n := HeaderSize + body; uint64(len(rest)) >= n {
					if err != nil || !bytes.Equal(got, rest[:n]) || cap(got) != len(got) {
						t.Fatalf("frame of %d bytes: got %d bytes (cap %d), %v", n, len(got), cap(got), err)
					}
					rest = rest[n:]
					continue
				}
			}
			want := io.ErrUnexpectedEOF
			if len(rest) == 0 {
				want = io.EOF
			}
			if got != nil || !errors.Is(err, want) {
				t.Fatalf("with %d bytes left: %d bytes, %v; want %v", len(rest), len(got), err, want)
			}
			return
		}
	})
}
