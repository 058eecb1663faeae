package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// unhex decodes a golden encoding written as hex with whitespace between
// fields and "#" comments to the end of a line.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	var clean strings.Builder
	for line := range strings.Lines(s) {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		tb.Fatalf("bad golden hex: %v", err)
	}
	return b
}

// firstDiff returns the offset of the first byte where a and b differ.
// Tests report it instead of printing encodings, which may hold keys.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func isZero(v any) bool { return reflect.ValueOf(v).IsZero() }

// Values shared by the golden encodings.
var (
	testNonce     = [NonceSize]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	testLicenseID = [LicenseIDSize]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}
	testKey       = [KeySize]byte([]byte("1AJS20123456789ABCDEFGHIJKLMNO")) // not a real key: the check character is wrong
	testKey2      = [KeySize]byte([]byte("1AJS2PQRSTUVWXYZ0123456789ABCD"))
	testProduct   = [ProductSize]byte([]byte("1AJS2"))
	testFP        = Fingerprint{N: 2, C: [MaxComponents]FPComponent{
		{Kind: KindMachineID, Hash: [FPHashSize]byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}},
		{Kind: KindMAC, Hash: [FPHashSize]byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}},
	}}
)

// testCodec checks m against its golden encoding: Check accepts it, Append
// and Len agree with the golden bytes, parsing them gives back an equal
// message (Append is injective, so equal encodings mean equal messages)
// without allocating, every strict prefix fails with ErrShort, a trailing
// byte fails with ErrTrailing, and AppendFrame frames it.
func testCodec[M Message](t *testing.T, parse func([]byte) (M, int, error), m M, golden string) {
	t.Helper()
	want := unhex(t, golden)
	if err := m.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if got := m.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("Append: %d bytes, differs from golden (%d bytes) at byte %d", len(got), len(want), firstDiff(got, want))
	}
	if m.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", m.Len(), len(want))
	}
	if m.Len() > maxBodyLen(m.Type()) {
		t.Fatalf("Len() = %d > maxBodyLen(%v) = %d", m.Len(), m.Type(), maxBodyLen(m.Type()))
	}

	got, n, err := parse(want)
	if err != nil || n != len(want) {
		t.Fatalf("parse golden: n = %d, err = %v; want %d, nil", n, err, len(want))
	}
	if enc := got.Append(nil); !bytes.Equal(enc, want) {
		t.Fatalf("parse then Append differs from golden at byte %d", firstDiff(enc, want))
	}

	for i := range len(want) {
		got, n, err := parse(want[:i])
		if !errors.Is(err, ErrShort) {
			t.Errorf("prefix of %d/%d bytes: err = %v, want ErrShort", i, len(want), err)
		}
		if n != 0 || !isZero(got) {
			t.Errorf("prefix of %d bytes: returned n = %d and a non-zero message", i, n)
		}
	}
	long := append(slices.Clip(want), 0)
	// A message with an optional trailing field (optionalTrailer) reads a
	// byte more as the start of that field: refused all the same.
	if got, n, err := parse(long); !errors.Is(err, ErrTrailing) && !(optionalTrailer[m.Type()] && err != nil) || n != 0 || !isZero(got) {
		t.Errorf("trailing byte: n = %d, err = %v; want 0, ErrTrailing and a zero message", n, err)
	}

	if a := testing.AllocsPerRun(100, func() { _, _, _ = parse(want) }); a != 0 {
		t.Errorf("parse: %v allocations, want 0", a)
	}
	buf := make([]byte, 0, HeaderSize+len(want))
	if a := testing.AllocsPerRun(100, func() { _ = m.Append(buf[:0]) }); a != 0 {
		t.Errorf("Append: %v allocations, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = AppendFrame(buf[:0], 7, m) }); a != 0 {
		t.Errorf("AppendFrame: %v allocations, want 0", a)
	}

	frame := AppendFrame(nil, 0xdeadbeef, m)
	h, hn, err := ParseHeader(frame)
	if err != nil {
		t.Fatalf("ParseHeader(AppendFrame) = %v", err)
	}
	if h != (Header{Type: m.Type(), RequestID: 0xdeadbeef, Length: uint32(len(want))}) || hn != HeaderSize {
		t.Fatalf("ParseHeader(AppendFrame) = %+v, %d", h, hn)
	}
	if !bytes.Equal(frame[HeaderSize:], want) {
		t.Fatalf("AppendFrame body differs from golden at byte %d", firstDiff(frame[HeaderSize:], want))
	}
	if nonce, ok := PeekNonce(want); !ok || nonce != testNonce {
		t.Fatalf("PeekNonce = %x, %v; want the test nonce", nonce, ok)
	}
}

// bound is a change to a valid message, and the error it must cause (nil
// for a change that keeps it valid).
type bound[M Message] struct {
	name string
	edit func(m *M)
	want error
}

// testBounds applies each change to base and checks that Check and the
// parser of its encoding agree on it. Edits must replace slices, not
// change them in place, since copies of base share them.
func testBounds[M Message](t *testing.T, parse func([]byte) (M, int, error), base M, cases []bound[M]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base
			c.edit(&m)
			if err := m.Check(); !errors.Is(err, c.want) {
				t.Errorf("Check() = %v, want %v", err, c.want)
			}
			enc := m.Append(nil)
			if m.Len() != len(enc) {
				t.Errorf("Len() = %d, encoding has %d bytes", m.Len(), len(enc))
			}
			got, n, err := parse(enc)
			if c.want == nil {
				if err != nil || n != len(enc) {
					t.Fatalf("parse: n = %d, err = %v", n, err)
				}
				if !bytes.Equal(got.Append(nil), enc) {
					t.Fatalf("parse then Append does not give back the encoding")
				}
				if m.Len() > maxBodyLen(m.Type()) {
					t.Fatalf("valid message of %d bytes exceeds maxBodyLen %d", m.Len(), maxBodyLen(m.Type()))
				}
				return
			}
			if !errors.Is(err, c.want) || n != 0 || !isZero(got) {
				t.Errorf("parse: n = %d, err = %v; want 0, %v and a zero message", n, err, c.want)
			}
		})
	}
}

// badBytes is a hand-made encoding that must fail to parse.
type badBytes struct {
	name string
	hex  string
	want error
}

func testBadBytes[M Message](t *testing.T, parse func([]byte) (M, int, error), cases []badBytes) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n, err := parse(unhex(t, c.hex))
			if !errors.Is(err, c.want) || n != 0 || !isZero(got) {
				t.Errorf("parse: n = %d, err = %v; want 0, %v and a zero message", n, err, c.want)
			}
		})
	}
}

func repeat(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
