package store

import (
	"reflect"
	"testing"
)

// FuzzDecodeLicense: a license record read from disk either decodes or is
// ErrCorrupt, never a panic; what decodes encodes back to the same license.
func FuzzDecodeLicense(f *testing.F) {
	l := newLicense(f, 3)
	l.Entitlements = []string{"reports", "cloud"}
	l.AbsExpiry = 1900000000
	good, err := encodeLicense(&l)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"Seats":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLicense(b)
		if err != nil {
			return
		}
		again, err := encodeLicense(&l)
		if err != nil {
			t.Fatalf("decoded license does not encode: %v", err)
		}
		l2, err := decodeLicense(again)
		if err != nil {
			t.Fatalf("re-encoded license does not decode: %v", err)
		}
		if !reflect.DeepEqual(l, l2) {
			t.Fatalf("round trip changed the license:\n%+v\n%+v", l, l2)
		}
	})
}

// FuzzDecodeActivation: likewise for activation records, whose fingerprint
// goes through the strict wire parser.
func FuzzDecodeActivation(f *testing.F) {
	a := Activation{Install: install(1), Fingerprint: fingerprint(1), Hostname: "desk-7", Created: 1700000000, LastSeen: 1700000100}
	good, err := encodeActivation(&a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1,"fp":"AA=="}`))
	f.Add([]byte(`{"v":1,"fp":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeActivation(b)
		if err != nil {
			return
		}
		again, err := encodeActivation(&a)
		if err != nil {
			t.Fatalf("decoded activation does not encode: %v", err)
		}
		a2, err := decodeActivation(again)
		if err != nil {
			t.Fatalf("re-encoded activation does not decode: %v", err)
		}
		if !reflect.DeepEqual(a, a2) {
			t.Fatalf("round trip changed the activation:\n%+v\n%+v", a, a2)
		}
	})
}
