package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// FuzzParseLease checks that a lease that parses encodes back to exactly
// its input, that a failure returns nothing, and that only the leases the
// test signed verify.
func FuzzParseLease(f *testing.F) {
	var keys []*composite.PublicKey
	var signed [][]byte
	for _, s := range []composite.Scheme{composite.MLDSA44Ed25519, composite.MLDSA65Ed25519} {
		_, b, k := signedTestLease(f, s)
		keys = append(keys, k.Public())
		signed = append(signed, b)
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:leaseFixed+3])
		f.Add(append(bytes.Clone(b), 0))
	}
	l := testLease(f)
	l.Bundle, l.Entitlements, l.Level, l.OnlineBy, l.WarnFrom = nil, Entitlements{}, LevelLeaseOnly, 0, 0
	b, err := SignLease(&l, leaseTestKey(f, composite.MLDSA44Ed25519, "gateway"))
	if err != nil {
		f.Fatal(err)
	}
	signed = append(signed, b)
	f.Add(b)
	f.Add([]byte(LeaseMagic))
	// Batch-signed leases: both versions, every path length of a batch
	// of 3 and of 64, and their proofs cut short.
	for _, n := range []int{3, 64} {
		_, bs, _ := signedBatch(f, composite.MLDSA44Ed25519, n)
		for i, b := range bs {
			signed = append(signed, b)
			if n == 64 && i%21 != 0 {
				continue
			}
			f.Add(b)
			at := proofAt(f, b)
			f.Add(b[:at+proofFixed])
			f.Add(b[:at+proofFixed+LeaseHashSize])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, n, err := ParseLease(b)
		if err != nil {
			if n != 0 || !reflect.ValueOf(l).IsZero() {
				t.Fatalf("ParseLease returned %d and a lease with error %v", n, err)
			}
		} else {
			if n != len(b) {
				t.Fatalf("ParseLease read %d of %d bytes", n, len(b))
			}
			if got := l.Append(nil); !bytes.Equal(got, b) {
				t.Fatalf("Append(ParseLease(b)) != b\n got %x\nwant %x", got, b)
			}
			if l.Len() != n {
				t.Fatalf("Len() = %d, want %d", l.Len(), n)
			}
			if err := l.Check(); err != nil {
				t.Fatalf("Check of a parsed lease: %v", err)
			}
		}
		v, verr := VerifyLease(b, keys)
		if verr == nil {
			for _, s := range signed {
				if bytes.Equal(s, b) {
					return
				}
			}
			t.Fatalf("a lease the test never signed verifies")
		}
		if err != nil && !errors.Is(verr, err) && verr.Error() != err.Error() {
			t.Fatalf("VerifyLease error %v differs from ParseLease error %v", verr, err)
		}
		if !reflect.ValueOf(v).IsZero() {
			t.Fatalf("VerifyLease returned a lease with error %v", verr)
		}
	})
}

// FuzzDearmorLease checks that text that dearmors is, up to the tolerated
// line ends, exactly what ArmorLease writes for its bytes, so that each
// lease has one armor; and that armoring any bytes dearmors back.
func FuzzDearmorLease(f *testing.F) {
	_, b, _ := signedTestLease(f, composite.MLDSA44Ed25519)
	text := ArmorLease(b)
	f.Add(text)
	f.Add(bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n")))
	f.Add(bytes.TrimSuffix(text, []byte("\n")))
	f.Add(ArmorLease([]byte("hello")))
	f.Add(ArmorLease(bytes.Repeat([]byte{0xff}, 48)))
	f.Add([]byte("-----BEGIN TOLLGATE LEASE-----\naGVsbG8=\n-----END TOLLGATE LEASE-----"))
	f.Fuzz(func(t *testing.T, text []byte) {
		out, err := DearmorLease(text)
		if err != nil {
			if out != nil {
				t.Fatalf("DearmorLease returned bytes with error %v", err)
			}
		} else {
			norm := bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
			if !bytes.HasSuffix(norm, []byte("\n")) {
				norm = append(norm, '\n')
			}
			if again := ArmorLease(out); !bytes.Equal(again, norm) {
				t.Fatalf("accepted armor is not canonical:\n got %q\nwant %q", text, again)
			}
		}
		if len(text) > 0 {
			back, err := DearmorLease(ArmorLease(text))
			if err != nil || !bytes.Equal(back, text) {
				t.Fatalf("DearmorLease(ArmorLease(x)) = %d bytes, %v; want x back", len(back), err)
			}
		}
	})
}

// FuzzLeaseBatch changes a batch-signed lease of a batch of 64 (which
// lease, where, and how: xor, or a proof field set) and checks that the
// result verifies only when it is unchanged, and that ParseLease and
// VerifyLease agree and never panic.
func FuzzLeaseBatch(f *testing.F) {
	_, bs, k := signedBatch(f, composite.MLDSA44Ed25519, 64)
	keys := []*composite.PublicKey{k.Public()}
	at := proofAt(f, bs[0])
	f.Add(uint8(0), uint16(0), uint8(0), uint16(0))                     // unchanged
	f.Add(uint8(1), uint16(at+proofFixed), uint8(1), uint16(0))         // path's first byte
	f.Add(uint8(63), uint16(at+proofFixed+191), uint8(0x80), uint16(0)) // path's last byte
	f.Add(uint8(2), uint16(at), uint8(0), uint16(3))                    // size 3
	f.Add(uint8(2), uint16(at), uint8(0), uint16(1))                    // size 1
	f.Add(uint8(2), uint16(at+2), uint8(0), uint16(64))                 // index 64
	f.Add(uint8(2), uint16(at+2), uint8(0), uint16(3))                  // index 3
	f.Add(uint8(5), uint16(at+4), uint8(7), uint16(0))                  // count 1
	f.Add(uint8(5), uint16(4), uint8(LeaseBatched), uint16(0))          // marker cleared
	f.Add(uint8(9), uint16(at-1), uint8(1), uint16(0))                  // key id
	f.Fuzz(func(t *testing.T, which uint8, off uint16, x uint8, set uint16) {
		orig := bs[int(which)%len(bs)]
		b := bytes.Clone(orig)
		o := int(off) % len(b)
		if set != 0 && o+2 <= len(b) {
			binary.BigEndian.PutUint16(b[o:], set)
		}
		b[o] ^= x
		l, _, perr := ParseLease(b)
		v, err := VerifyLease(b, keys)
		if err == nil {
			if !bytes.Equal(b, orig) {
				t.Fatalf("a changed lease verifies (byte %d)", o)
			}
			return
		}
		if bytes.Equal(b, orig) {
			t.Fatalf("the signed lease does not verify: %v", err)
		}
		if perr != nil && !errors.Is(err, perr) && err.Error() != perr.Error() {
			t.Fatalf("VerifyLease error %v differs from ParseLease error %v", err, perr)
		}
		if perr == nil && l.Sig == nil {
			t.Fatalf("ParseLease returned no signature without an error")
		}
		if !reflect.ValueOf(v).IsZero() {
			t.Fatalf("VerifyLease returned a lease with error %v", err)
		}
	})
}
