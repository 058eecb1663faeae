package wire

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

func TestVerifyLeaseKeys(t *testing.T) {
	l44, b44, k44 := signedTestLease(t, composite.MLDSA44Ed25519)
	_, b65, k65 := signedTestLease(t, composite.MLDSA65Ed25519)
	other := leaseTestKey(t, composite.MLDSA44Ed25519, "another gateway")
	for _, tc := range []struct {
		name string
		b    []byte
		keys []*composite.PublicKey
		want error
	}{
		{"44, its key", b44, []*composite.PublicKey{k44.Public()}, nil},
		{"65, its key", b65, []*composite.PublicKey{k65.Public()}, nil},
		{"rotation: both keys", b65, []*composite.PublicKey{nil, k44.Public(), other.Public(), k65.Public()}, nil},
		{"no keys", b44, nil, ErrLeaseKey},
		{"nil key", b44, []*composite.PublicKey{nil}, ErrLeaseKey},
		{"another key", b44, []*composite.PublicKey{other.Public()}, ErrLeaseKey},
		{"the other scheme's key", b44, []*composite.PublicKey{k65.Public()}, ErrLeaseKey},
		{"altered signature", flipByte(b44, len(b44)-100), []*composite.PublicKey{k44.Public()}, ErrLeaseSignature},
		{"altered counter", flipByte(b44, 106), []*composite.PublicKey{k44.Public()}, ErrLeaseSignature},
		{"altered key id", flipByte(b44, len(b44)-len(l44.Sig)-1), []*composite.PublicKey{k44.Public()}, ErrLeaseKey},
	} {
		l, err := VerifyLease(tc.b, tc.keys)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: VerifyLease = %v; want %v", tc.name, err, tc.want)
		}
		if (err == nil) != (l.Sig != nil) {
			t.Errorf("%s: VerifyLease returned a lease with error %v", tc.name, err)
		}
	}

	// A lease another key signed, with this key's id put in, does not verify.
	forged := testLease(t)
	b, _ := SignLease(&forged, other)
	forged.KeyID = k44.Public().ID()
	if _, err := VerifyLease(forged.Append(nil), []*composite.PublicKey{k44.Public()}); !errors.Is(err, ErrLeaseSignature) {
		t.Errorf("relabelled lease: VerifyLease = %v; want ErrLeaseSignature", err)
	}
	if _, err := VerifyLease(b, []*composite.PublicKey{other.Public()}); err != nil {
		t.Errorf("test bug: the forger's own lease does not verify: %v", err)
	}
	if _, err := SignLease(&forged, nil); !errors.Is(err, composite.ErrNilKey) {
		t.Errorf("SignLease(nil key) = %v; want composite.ErrNilKey", err)
	}
}

func flipByte(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x80
	return c
}

func TestLeaseMaxSize(t *testing.T) {
	names := make([]string, MaxEntitlements)
	for i := range names {
		names[i] = strings.Repeat(string(rune('a'+i%26)), MaxEntitlementLen-2) + string(rune('a'+i/26)) + "x"
	}
	ents, err := NewEntitlements(names...)
	if err != nil {
		t.Fatalf("NewEntitlements: %v", err)
	}
	var codes [][ProductSize]byte
	for i := range MaxBundle {
		codes = append(codes, [ProductSize]byte{'Z', 'Z', 'Z', 'Z', byte('A' + i)})
	}
	bundle, err := NewLeaseBundle(codes...)
	if err != nil {
		t.Fatalf("NewLeaseBundle: %v", err)
	}
	l := testLease(t)
	l.Bundle, l.Entitlements = bundle, ents
	l.Fingerprint.N = MaxComponents
	for i := range MaxComponents {
		l.Fingerprint.C[i].Kind = ComponentKind(i + 1)
	}
	k := leaseTestKey(t, composite.MLDSA65Ed25519, "gateway")
	b, err := SignLease(&l, k)
	if err != nil {
		t.Fatalf("SignLease: %v", err)
	}
	if len(b) > MaxLeaseSize {
		t.Fatalf("the largest lease is %d bytes, more than MaxLeaseSize %d", len(b), MaxLeaseSize)
	}
	if _, err := VerifyLease(b, []*composite.PublicKey{k.Public()}); err != nil {
		t.Fatalf("VerifyLease of the largest lease: %v", err)
	}
	t.Logf("largest lease: %d bytes", len(b))
}

func TestLeaseAccessors(t *testing.T) {
	l, b, _ := signedTestLease(t, composite.MLDSA44Ed25519)
	p, _, err := ParseLease(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Lease{&l, &p} {
		var got []string
		for c := range l.Products() {
			got = append(got, string(c[:]))
		}
		if want := []string{"1AJS2", "1AJS3", "2BCDE"}; !slices.Equal(got, want) {
			t.Errorf("Products = %q, want %q", got, want)
		}
		for code, want := range map[string]bool{"1AJS2": true, "1AJS3": true, "2BCDE": true, "1AJS4": false, "00000": false} {
			if l.HasProduct([ProductSize]byte([]byte(code))) != want {
				t.Errorf("HasProduct(%s) = %v", code, !want)
			}
		}
		if !l.Entitlements.Has("export.pdf") || l.Entitlements.Has("export") || l.Entitlements.Count() != 3 {
			t.Errorf("entitlements wrong")
		}
	}
	if got := LevelCheckRequired.String(); got != "check-required" {
		t.Errorf("LevelCheckRequired.String() = %q", got)
	}
	if got := LeaseLevel(9).String(); got != "LeaseLevel(9)" {
		t.Errorf("LeaseLevel(9).String() = %q", got)
	}
}

func TestNewLeaseBundle(t *testing.T) {
	c := func(s string) [ProductSize]byte { return [ProductSize]byte([]byte(s)) }
	b, err := NewLeaseBundle(c("ZZZZZ"), c("00000"), c("A1B2C"))
	if err != nil || string(b) != "00000A1B2CZZZZZ" {
		t.Errorf("NewLeaseBundle = %q, %v; want sorted codes", b, err)
	}
	if b, err := NewLeaseBundle(); err != nil || len(b) != 0 {
		t.Errorf("NewLeaseBundle() = %q, %v", b, err)
	}
	many := make([][ProductSize]byte, MaxBundle+1)
	for i := range many {
		many[i] = c("AAAA" + string(rune('A'+i)))
	}
	for _, tc := range []struct {
		name  string
		codes [][ProductSize]byte
	}{
		{"repeated", [][ProductSize]byte{c("AAAAA"), c("BBBBB"), c("AAAAA")}},
		{"lower case", [][ProductSize]byte{c("aaaaa")}},
		{"zero bytes", [][ProductSize]byte{{}}},
		{"too many", many},
	} {
		if b, err := NewLeaseBundle(tc.codes...); !errors.Is(err, ErrInvalidField) || b != nil {
			t.Errorf("NewLeaseBundle(%s) = %q, %v; want ErrInvalidField", tc.name, b, err)
		}
	}
}

func TestParseLeaseAllocs(t *testing.T) {
	_, b, _ := signedTestLease(t, composite.MLDSA44Ed25519)
	var l Lease
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if l, _, err = ParseLease(b); err != nil {
			t.Fatal(err)
		}
		if !l.HasProduct(l.Product) || !l.Entitlements.Has("seats-pool") {
			t.Fatal("accessors")
		}
		for range l.Products() {
		}
	})
	if allocs != 0 {
		t.Errorf("ParseLease and accessors: %v allocations, want 0", allocs)
	}
}

func benchmarkLeaseSign(b *testing.B, s composite.Scheme) {
	k := leaseTestKey(b, s, "gateway")
	l := testLease(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignLease(&l, k); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkLeaseVerify(b *testing.B, s composite.Scheme) {
	_, enc, k := signedTestLease(b, s)
	keys := []*composite.PublicKey{k.Public()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyLease(enc, keys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLeaseSign44(b *testing.B)   { benchmarkLeaseSign(b, composite.MLDSA44Ed25519) }
func BenchmarkLeaseSign65(b *testing.B)   { benchmarkLeaseSign(b, composite.MLDSA65Ed25519) }
func BenchmarkLeaseVerify44(b *testing.B) { benchmarkLeaseVerify(b, composite.MLDSA44Ed25519) }
func BenchmarkLeaseVerify65(b *testing.B) { benchmarkLeaseVerify(b, composite.MLDSA65Ed25519) }

func BenchmarkParseLease(b *testing.B) {
	_, enc, _ := signedTestLease(b, composite.MLDSA44Ed25519)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseLease(enc); err != nil {
			b.Fatal(err)
		}
	}
}
