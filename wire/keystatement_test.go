package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// goldenKeyStatement is the statement by which the test key "gateway"
// introduces the test key "gateway-2" (both ML-DSA-44), from 1700000000,
// retiring itself after 1710000000. Composite signatures are
// deterministic, so the file is exact.
const goldenKeyStatement = "keystatement-mldsa44.golden"

// testKeyStatement signs the golden statement.
func testKeyStatement(t testing.TB) (KeyStatement, []byte, *composite.PrivateKey) {
	t.Helper()
	old := leaseTestKey(t, composite.MLDSA44Ed25519, "gateway")
	s := KeyStatement{NewKey: leaseTestKey(t, composite.MLDSA44Ed25519, "gateway-2").Public(), From: 1700000000, RetireAfter: 1710000000}
	b, err := SignKeyStatement(&s, old)
	if err != nil {
		t.Fatalf("SignKeyStatement: %v", err)
	}
	return s, b, old
}

// TestKeyStatementGolden checks the encoding against the golden file, its
// layout field by field, and that it parses back and verifies with the
// signing key only.
func TestKeyStatementGolden(t *testing.T) {
	s, b, old := testKeyStatement(t)
	path := filepath.Join("testdata", goldenKeyStatement)
	if os.Getenv("TOLLGATE_WRITE_GOLDEN") == "1" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("statement differs from golden (%d bytes, golden %d) at byte %d", len(b), len(want), firstDiff(b, want))
	}
	if n := KeyStatementLen(composite.MLDSA44Ed25519, composite.MLDSA44Ed25519); len(b) != n || n != 3859 || s.Len() != n {
		t.Fatalf("statement is %d bytes, KeyStatementLen %d, Len %d; want 3859", len(b), n, s.Len())
	}
	if len(b) > MaxLeaseStatement {
		t.Fatalf("an ML-DSA-44 statement (%d bytes) does not fit a lease", len(b))
	}
	for _, sc := range [][2]composite.Scheme{{composite.MLDSA65Ed25519, composite.MLDSA44Ed25519}, {composite.MLDSA44Ed25519, composite.MLDSA65Ed25519}} {
		if n := KeyStatementLen(sc[0], sc[1]); n <= MaxLeaseStatement {
			t.Errorf("KeyStatementLen(%v, %v) = %d fits a lease; the documentation says it does not", sc[0], sc[1], n)
		}
	}
	// The layout, as the documentation draws it.
	pk := s.NewKey.Bytes()
	off := 6 + len(pk)
	switch {
	case string(want[:4]) != KeyStatementMagic || want[4] != KeyStatementVersion || want[5] != byte(composite.MLDSA44Ed25519):
		t.Fatal("magic, version or new scheme misplaced")
	case !bytes.Equal(want[6:off], pk):
		t.Fatal("new key misplaced")
	case binary.BigEndian.Uint64(want[off:]) != 1700000000 || binary.BigEndian.Uint64(want[off+8:]) != 1710000000:
		t.Fatal("times misplaced")
	case want[off+16] != byte(composite.MLDSA44Ed25519):
		t.Fatal("signer scheme misplaced")
	}
	id := old.Public().ID()
	if !bytes.Equal(want[off+17:off+25], id[:]) {
		t.Fatal("signer key id misplaced")
	}
	got, err := ParseKeyStatement(want)
	if err != nil {
		t.Fatalf("ParseKeyStatement(golden): %v", err)
	}
	if !got.NewKey.Equal(s.NewKey) || got.From != s.From || got.RetireAfter != s.RetireAfter || got.KeyID != id || !bytes.Equal(got.Append(nil), want) {
		t.Fatal("golden statement parses to another statement")
	}
	if _, err := VerifyKeyStatement(want, []*composite.PublicKey{s.NewKey, old.Public()}); err != nil {
		t.Fatalf("VerifyKeyStatement with its signer: %v", err)
	}
	if _, err := VerifyKeyStatement(want, []*composite.PublicKey{s.NewKey}); !errors.Is(err, ErrKeyStatementKey) {
		t.Fatalf("VerifyKeyStatement without its signer = %v, want ErrKeyStatementKey", err)
	}
}

// TestKeyStatementRefusals checks that truncated, long, damaged and
// out-of-range statements are refused with the right error, and that a
// statement's signature is not a lease's.
func TestKeyStatementRefusals(t *testing.T) {
	s, b, old := testKeyStatement(t)
	keys := []*composite.PublicKey{old.Public()}
	for i := range len(b) {
		if got, err := ParseKeyStatement(b[:i]); !errors.Is(err, ErrShort) || got.NewKey != nil {
			t.Fatalf("prefix of %d/%d bytes: err = %v, want ErrShort", i, len(b), err)
		}
	}
	if _, err := ParseKeyStatement(append(bytes.Clone(b), 0)); !errors.Is(err, ErrTrailing) {
		t.Fatalf("trailing byte: err = %v, want ErrTrailing", err)
	}
	off := 6 + len(s.NewKey.Bytes())
	edit := func(i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	setTime := func(o int, v int64) []byte {
		c := bytes.Clone(b)
		binary.BigEndian.PutUint64(c[o:], uint64(v))
		return c
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"magic", edit(0, 'X'), ErrKeyStatementMagic},
		{"lease magic", []byte(LeaseMagic + "\x01"), ErrKeyStatementMagic},
		{"version", edit(4, 2), ErrUnsupportedVersion},
		{"new scheme unknown", edit(5, 9), ErrInvalidField},
		{"new scheme 65 (the fields shift)", edit(5, byte(composite.MLDSA65Ed25519)), ErrInvalidField},
		{"from zero", setTime(off, 0), ErrInvalidField},
		{"from negative", setTime(off, -5), ErrInvalidField},
		{"retire before from", setTime(off+8, 1600000000), ErrInvalidField},
		{"signer scheme unknown", edit(off+16, 0), ErrInvalidField},
		{"signature changed", edit(len(b)-1, b[len(b)-1]^1), ErrKeyStatementSignature},
		{"new key changed", edit(7, b[7]^1), ErrKeyStatementSignature},
		{"signer id changed", edit(off+17, b[off+17]^1), ErrKeyStatementKey},
	}
	for _, c := range cases {
		if _, err := VerifyKeyStatement(c.b, keys); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	// Retire-after zero: not announced, accepted.
	u := KeyStatement{NewKey: s.NewKey, From: 5}
	ub, err := SignKeyStatement(&u, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyKeyStatement(ub, keys); err != nil {
		t.Fatalf("statement without retire-after: %v", err)
	}
	// A key never introduces itself.
	self := KeyStatement{NewKey: old.Public(), From: 5}
	if _, err := SignKeyStatement(&self, old); !errors.Is(err, ErrInvalidField) || self.Sig != nil {
		t.Fatalf("self-introduction: err = %v, want ErrInvalidField and s unchanged", err)
	}
	// Domain separation: the signed bytes of a statement, signed under the
	// lease context, do not verify as a statement.
	forged := bytes.Clone(b[:len(b)-len(s.Sig)])
	sig, err := old.Sign(forged, []byte(LeaseContext))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyKeyStatement(append(forged, sig...), keys); !errors.Is(err, ErrKeyStatementSignature) {
		t.Fatalf("lease-context signature taken for a statement's: %v", err)
	}
	// A lease can carry it.
	l := testLease(t)
	l.Statement = b
	lb, err := SignLease(&l, leaseTestKey(t, composite.MLDSA44Ed25519, "gateway-2"))
	if err != nil {
		t.Fatalf("signing a lease with the statement: %v", err)
	}
	got, err := VerifyLease(lb, []*composite.PublicKey{s.NewKey})
	if err != nil || !bytes.Equal(got.Statement, b) {
		t.Fatalf("lease with statement: %v", err)
	}
}
