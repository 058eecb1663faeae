package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// leaseTestKey returns a fixed signing key of scheme s, derived from name.
func leaseTestKey(t testing.TB, s composite.Scheme, name string) *composite.PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte("lease test key " + name))
	more := sha256.Sum256(seed[:])
	k, err := composite.GenerateKey(s, bytes.NewReader(append(seed[:], more[:]...)))
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k
}

// testLease returns a valid level 3 lease with every variable field in
// use, unsigned. Its bytes are spelled out in TestLeaseLayout.
func testLease(t testing.TB) Lease {
	t.Helper()
	ents, err := NewEntitlements("seats-pool", "export.pdf", "beta_ui")
	if err != nil {
		t.Fatalf("NewEntitlements: %v", err)
	}
	bundle, err := NewLeaseBundle([ProductSize]byte([]byte("2BCDE")), [ProductSize]byte([]byte("1AJS3")))
	if err != nil {
		t.Fatalf("NewLeaseBundle: %v", err)
	}
	l := Lease{
		Product:       [ProductSize]byte([]byte("1AJS2")),
		Issued:        1767225600, // 2026-01-01T00:00:00Z
		LeaseExpiry:   1767225600 + 30*86400,
		LicenseExpiry: 1767225600 + 365*86400,
		Level:         LevelCheckRequired,
		OnlineBy:      1767225600 + 14*86400,
		WarnFrom:      1767225600 + 11*86400,
		Counter:       42,
		ServerTime:    1767225605,
		Bundle:        bundle,
		Entitlements:  ents,
		Fingerprint: Fingerprint{N: 3, C: [MaxComponents]FPComponent{
			{Kind: KindMachineID, Hash: [FPHashSize]byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}},
			{Kind: KindBoardSerial, Hash: [FPHashSize]byte{0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33}},
			{Kind: KindMAC, Hash: [FPHashSize]byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}},
		}},
	}
	for i := range l.LicenseID {
		l.LicenseID[i] = byte(i + 1)
	}
	for i := range l.InstallKeyHash {
		l.InstallKeyHash[i] = byte(0x20 + i)
	}
	for i := range l.Nonce {
		l.Nonce[i] = byte(0xf0 + i)
	}
	return l
}

// signedTestLease signs testLease with a fixed key of scheme s.
func signedTestLease(t testing.TB, s composite.Scheme) (Lease, []byte, *composite.PrivateKey) {
	t.Helper()
	k := leaseTestKey(t, s, "gateway")
	l := testLease(t)
	b, err := SignLease(&l, k)
	if err != nil {
		t.Fatalf("SignLease: %v", err)
	}
	return l, b, k
}

// unhexLines decodes the first field of each line and ignores the rest,
// which is a comment.
func unhexLines(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		b, err := hex.DecodeString(f[0])
		if err != nil {
			t.Fatalf("bad hex %q: %v", f[0], err)
		}
		out = append(out, b...)
	}
	return out
}

// TestLeaseLayout pins the signed bytes of testLease to the layout drawn
// above Lease, field by field.
func TestLeaseLayout(t *testing.T) {
	l, b, k := signedTestLease(t, composite.MLDSA44Ed25519)
	id := k.Public().ID()
	want := unhexLines(t, `
		54474c53                                                           0    magic "TGLS"
		01                                                                 4    version
		0102030405060708090a0b0c0d0e0f10                                   5    license id
		31414a5332                                                         21   product "1AJS2"
		202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f   26   install key hash
		000000006955b900                                                   58   issued
		00000000697d4600                                                   66   lease expiry
		000000006b36ec80                                                   74   license expiry
		03                                                                 82   level
		0000000069682e00                                                   83   online-by
		0000000069643980                                                   91   warn-from
		000000000000002a                                                   99   counter
		000000006955b905                                                   107  server time
		f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff                                   115  nonce
		02                                                                 131  bundle count
		31414a5333                                                              "1AJS3"
		3242434445                                                              "2BCDE"
		03                                                                      entitlement count
		07626574615f7569                                                        "beta_ui"
		0a6578706f72742e706466                                                  "export.pdf"
		0a73656174732d706f6f6c                                                  "seats-pool"
		03                                                                      fingerprint components
		011111111111111111                                                      machine-id
		033333333333333333                                                      board-serial
		055555555555555555                                                      mac
		01                                                                      scheme ML-DSA-44 + Ed25519
	`)
	want = append(want, id[:]...)
	if got := b[:len(b)-len(l.Sig)]; !bytes.Equal(got, want) {
		t.Fatalf("signed bytes\n got %x\nwant %x", got, want)
	}
	if len(l.Sig) != 2484 || !bytes.Equal(b[len(want):], l.Sig) {
		t.Fatalf("signature: %d bytes, at the end %v", len(l.Sig), bytes.Equal(b[len(want):], l.Sig))
	}
	if leaseFixed != 131 {
		t.Errorf("leaseFixed = %d, the diagram says 131", leaseFixed)
	}
	// Signing is deterministic, so the whole lease is pinned too: a change
	// here means the composite signature or the lease encoding changed.
	const golden = "76c2f1815af42d8c5cd2d58d7650f030e973d402069fec422e6c3976151a0ac4"
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != golden {
		t.Errorf("SHA-256 of the signed test lease = %x, want %s", sum, golden)
	}
}

func TestLeaseRoundTrip(t *testing.T) {
	for _, s := range []composite.Scheme{composite.MLDSA44Ed25519, composite.MLDSA65Ed25519} {
		t.Run(s.String(), func(t *testing.T) {
			l, b, k := signedTestLease(t, s)
			if l.Scheme != s || l.KeyID != k.Public().ID() || len(l.Sig) != s.SignatureSize() {
				t.Fatalf("SignLease set scheme %v, key id %x, %d-byte signature", l.Scheme, l.KeyID, len(l.Sig))
			}
			if l.Len() != len(b) || !bytes.Equal(l.Append(nil), b) {
				t.Fatalf("Len %d, len %d; Append equal: %v", l.Len(), len(b), bytes.Equal(l.Append(nil), b))
			}
			if err := l.Check(); err != nil {
				t.Fatalf("Check of a signed lease: %v", err)
			}
			p, n, err := ParseLease(b)
			if err != nil || n != len(b) {
				t.Fatalf("ParseLease = %d, %v", n, err)
			}
			if !leaseEqual(&p, &l) {
				t.Fatalf("parsed lease differs from the signed one")
			}
			v, err := VerifyLease(b, []*composite.PublicKey{k.Public()})
			if err != nil {
				t.Fatalf("VerifyLease: %v", err)
			}
			if !leaseEqual(&v, &l) {
				t.Fatalf("verified lease differs from the signed one")
			}
			// Append to a non-empty buffer appends.
			if got := p.Append([]byte("x")); !bytes.Equal(got[1:], b) || got[0] != 'x' {
				t.Fatalf("Append to a prefix is wrong")
			}
		})
	}
}

func leaseEqual(a, b *Lease) bool {
	return a.LicenseID == b.LicenseID && a.Product == b.Product && a.InstallKeyHash == b.InstallKeyHash &&
		a.Issued == b.Issued && a.LeaseExpiry == b.LeaseExpiry && a.LicenseExpiry == b.LicenseExpiry &&
		a.Level == b.Level && a.OnlineBy == b.OnlineBy && a.WarnFrom == b.WarnFrom && a.Counter == b.Counter &&
		a.ServerTime == b.ServerTime && a.Nonce == b.Nonce && bytes.Equal(a.Bundle, b.Bundle) &&
		a.Entitlements.Equal(b.Entitlements) && a.Fingerprint == b.Fingerprint && a.Scheme == b.Scheme &&
		a.KeyID == b.KeyID && bytes.Equal(a.Sig, b.Sig) && bytes.Equal(a.Messages, b.Messages) &&
		bytes.Equal(a.Statement, b.Statement) && a.Proof.Size == b.Proof.Size && a.Proof.Index == b.Proof.Index &&
		bytes.Equal(a.Proof.Path, b.Proof.Path)
}

// TestLeaseVersion2 checks the lease that carries messages or a key
// statement: version 2 with either, version 1 with neither, the largest
// within MaxLeaseSize, and a version 2 encoding with both empty refused.
func TestLeaseVersion2(t *testing.T) {
	k := leaseTestKey(t, composite.MLDSA65Ed25519, "gateway")
	for _, tc := range []struct {
		name                string
		messages, statement []byte
		version             byte
	}{
		{"neither", nil, nil, LeaseVersion},
		{"messages", []byte("de\x00trial-used\x00Testzeitraum vorbei"), nil, LeaseVersion2},
		{"statement", nil, []byte("statement"), LeaseVersion2},
		{"both at their largest", bytes.Repeat([]byte{'m'}, MaxLeaseMessages), bytes.Repeat([]byte{'s'}, MaxLeaseStatement), LeaseVersion2},
	} {
		l := testLease(t)
		l.Level, l.OnlineBy, l.WarnFrom = LevelFloating, 0, 0
		l.Messages, l.Statement = tc.messages, tc.statement
		b, err := SignLease(&l, k)
		if err != nil {
			t.Fatalf("%s: SignLease: %v", tc.name, err)
		}
		if b[len(LeaseMagic)] != tc.version || len(b) > MaxLeaseSize {
			t.Errorf("%s: version %d, %d bytes; want version %d within %d", tc.name, b[len(LeaseMagic)], len(b), tc.version, MaxLeaseSize)
		}
		v, err := VerifyLease(b, []*composite.PublicKey{k.Public()})
		if err != nil || !leaseEqual(&v, &l) {
			t.Errorf("%s: VerifyLease = %v, equal %v", tc.name, err, leaseEqual(&v, &l))
		}
		for i := range len(b) {
			if _, _, err := ParseLease(b[:i]); !errors.Is(err, ErrShort) {
				t.Fatalf("%s: ParseLease of %d of %d bytes: %v, want ErrShort", tc.name, i, len(b), err)
			}
		}
	}
	// Version 2 with both fields empty: one encoding per lease.
	l := testLease(t)
	l.Messages = []byte("x")
	b, err := SignLease(&l, k)
	if err != nil {
		t.Fatal(err)
	}
	at := len(b) - len(l.Sig) - 1 - composite.IDSize - 2 - 2 - 1 // the messages' length
	bad := append(append(append([]byte(nil), b[:at]...), 0, 0, 0, 0), b[at+2+1+2:]...)
	if _, _, err := ParseLease(bad); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("version 2 lease with neither field: %v, want ErrNonCanonical", err)
	}
}

func TestLeasePrefixes(t *testing.T) {
	_, b, _ := signedTestLease(t, composite.MLDSA44Ed25519)
	for i := range len(b) {
		l, n, err := ParseLease(b[:i])
		if !errors.Is(err, ErrShort) || n != 0 || l.Sig != nil {
			t.Fatalf("ParseLease(first %d of %d bytes) = %d, %v; want 0, ErrShort", i, len(b), n, err)
		}
	}
}

func TestLeaseEnvelope(t *testing.T) {
	_, b, k := signedTestLease(t, composite.MLDSA44Ed25519)
	keys := []*composite.PublicKey{k.Public()}
	with := func(i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"trailing byte", append(bytes.Clone(b), 0), ErrTrailing},
		{"a second lease", append(bytes.Clone(b), b...), ErrTrailing},
		{"version 3", with(4, 3), ErrUnsupportedVersion},
		{"version 1 read as 2", with(4, 2), ErrShort},
		{"version 0", with(4, 0), ErrUnsupportedVersion},
		{"version 255", with(4, 255), ErrUnsupportedVersion},
		{"future version, short", []byte("TGLS\x03"), ErrUnsupportedVersion},
		{"wrong magic", with(3, 'X'), ErrLeaseMagic},
		{"lower-case magic", with(0, 't'), ErrLeaseMagic},
		{"one wrong byte", []byte("X"), ErrLeaseMagic},
		{"armored", ArmorLease(b), ErrLeaseMagic},
		{"empty", nil, ErrShort},
		{"magic only", []byte("TGLS"), ErrShort},
		{"scheme 0", with(len(b)-len(k.Public().ID())-2484-1, 0), ErrInvalidField},
		{"scheme 3", with(len(b)-len(k.Public().ID())-2484-1, 3), ErrInvalidField},
		{"scheme 65 on a 44 signature", with(len(b)-len(k.Public().ID())-2484-1, 2), ErrShort},
		{"bundle count 16", with(leaseFixed, 16), ErrInvalidField},
	} {
		if l, n, err := ParseLease(tc.b); !errors.Is(err, tc.want) || n != 0 || l.Sig != nil {
			t.Errorf("ParseLease(%s) = %d, %v; want 0, %v", tc.name, n, err, tc.want)
		}
		if l, err := VerifyLease(tc.b, keys); !errors.Is(err, tc.want) || l.Sig != nil {
			t.Errorf("VerifyLease(%s) = %v; want %v", tc.name, err, tc.want)
		}
	}
}

// TestLeaseFieldRules breaks one field rule at a time. The parser must
// refuse the encoding, and Check and SignLease the lease, with the same
// error.
func TestLeaseFieldRules(t *testing.T) {
	k := leaseTestKey(t, composite.MLDSA44Ed25519, "gateway")
	tooMany := make([]byte, 0, (MaxBundle+1)*ProductSize)
	for i := range MaxBundle + 1 {
		tooMany = append(tooMany, 'A', 'A', 'A', 'A', byte('A'+i))
	}
	for _, tc := range []struct {
		name string
		edit func(*Lease)
		want error
	}{
		{"lower-case product", func(l *Lease) { l.Product[0] = 'a' }, ErrInvalidField},
		{"product with a dash", func(l *Lease) { l.Product[4] = '-' }, ErrInvalidField},
		{"bundle not ascending", func(l *Lease) { l.Bundle = []byte("2BCDE1AJS3") }, ErrNonCanonical},
		{"bundle repeated", func(l *Lease) { l.Bundle = []byte("1AJS31AJS3") }, ErrNonCanonical},
		{"bundle holds the product", func(l *Lease) { l.Bundle = []byte("1AJS2") }, ErrNonCanonical},
		{"bundle lower-case", func(l *Lease) { l.Bundle = []byte("1ajs3") }, ErrInvalidField},
		{"bundle of 16", func(l *Lease) { l.Bundle = tooMany }, ErrInvalidField},
		{"no fingerprint", func(l *Lease) { l.Fingerprint = Fingerprint{} }, ErrInvalidField},
		{"fingerprint kinds out of order", func(l *Lease) { l.Fingerprint.C[1].Kind = KindMachineID }, ErrNonCanonical},
		{"issued 0", func(l *Lease) { l.Issued = 0 }, ErrInvalidField},
		{"issued negative", func(l *Lease) { l.Issued = -1 }, ErrInvalidField},
		{"lease expiry at issue", func(l *Lease) { l.LeaseExpiry = l.Issued }, ErrInvalidField},
		{"lease outlives license", func(l *Lease) { l.LicenseExpiry = l.LeaseExpiry - 1 }, ErrInvalidField},
		{"negative license expiry", func(l *Lease) { l.LicenseExpiry = -1 }, ErrInvalidField},
		{"server time 0", func(l *Lease) { l.ServerTime = 0 }, ErrInvalidField},
		{"level 0", func(l *Lease) { l.Level = 0 }, ErrInvalidField},
		{"level 5", func(l *Lease) { l.Level = 5 }, ErrInvalidField},
		{"floating with online-by", func(l *Lease) { l.Level, l.WarnFrom = LevelFloating, 0 }, ErrNonCanonical},
		{"messages too long", func(l *Lease) { l.Messages = make([]byte, MaxLeaseMessages+1) }, ErrInvalidField},
		{"statement too long", func(l *Lease) { l.Statement = make([]byte, MaxLeaseStatement+1) }, ErrInvalidField},
		{"level 1 with online-by", func(l *Lease) { l.Level, l.WarnFrom = LevelLeaseOnly, 0 }, ErrNonCanonical},
		{"level 2 with warn-from", func(l *Lease) { l.Level, l.OnlineBy = LevelCheckWhenOnline, 0 }, ErrNonCanonical},
		{"level 3 without online-by", func(l *Lease) { l.OnlineBy, l.WarnFrom = 0, 0 }, ErrInvalidField},
		{"warn-from after online-by", func(l *Lease) { l.WarnFrom = l.OnlineBy + 1 }, ErrInvalidField},
		{"negative warn-from", func(l *Lease) { l.WarnFrom = -1 }, ErrInvalidField},
	} {
		l := testLease(t)
		tc.edit(&l)
		before := l
		if b, err := SignLease(&l, k); !errors.Is(err, tc.want) || b != nil {
			t.Errorf("%s: SignLease = %v; want %v", tc.name, err, tc.want)
		}
		if !leaseEqual(&l, &before) {
			t.Errorf("%s: SignLease changed the lease it refused", tc.name)
		}
		// Encode it anyway, with a well-formed signature, as a forger would.
		l.Scheme, l.KeyID, l.Sig = composite.MLDSA44Ed25519, k.Public().ID(), make([]byte, 2484)
		if err := l.Check(); !errors.Is(err, tc.want) {
			t.Errorf("%s: Check = %v; want %v", tc.name, err, tc.want)
		}
		if _, n, err := ParseLease(l.Append(nil)); !errors.Is(err, tc.want) || n != 0 {
			t.Errorf("%s: ParseLease = %v; want %v", tc.name, err, tc.want)
		}
	}

	// The rules accept what they should.
	for _, tc := range []struct {
		name string
		edit func(*Lease)
	}{
		{"perpetual", func(l *Lease) { l.LicenseExpiry = 0 }},
		{"license ends with the lease", func(l *Lease) { l.LicenseExpiry = l.LeaseExpiry }},
		{"level 1", func(l *Lease) { l.Level, l.OnlineBy, l.WarnFrom = LevelLeaseOnly, 0, 0 }},
		{"level 3 without warning", func(l *Lease) { l.WarnFrom = 0 }},
		{"warn at online-by", func(l *Lease) { l.WarnFrom = l.OnlineBy }},
		{"no bundle, no entitlements", func(l *Lease) { l.Bundle, l.Entitlements = nil, Entitlements{} }},
		{"one explicit component", func(l *Lease) { l.Fingerprint = Fingerprint{N: 1, C: [MaxComponents]FPComponent{{Kind: KindExplicit}}} }},
	} {
		l := testLease(t)
		tc.edit(&l)
		b, err := SignLease(&l, k)
		if err != nil {
			t.Errorf("%s: SignLease: %v", tc.name, err)
			continue
		}
		if _, err := VerifyLease(b, []*composite.PublicKey{k.Public()}); err != nil {
			t.Errorf("%s: VerifyLease: %v", tc.name, err)
		}
	}
}

// TestLeaseBitFlips flips every bit of a signed lease, one at a time:
// VerifyLease must refuse each.
func TestLeaseBitFlips(t *testing.T) {
	_, b, k := signedTestLease(t, composite.MLDSA44Ed25519)
	keys := []*composite.PublicKey{k.Public()}
	c := bytes.Clone(b)
	counts := map[string]int{}
	for i := range len(c) * 8 {
		c[i/8] ^= 1 << (i % 8)
		l, err := VerifyLease(c, keys)
		c[i/8] ^= 1 << (i % 8)
		if err == nil || l.Sig != nil {
			t.Fatalf("VerifyLease accepted the lease with bit %d (byte %d) flipped", i, i/8)
		}
		counts[leaseErrorKind(err)]++
	}
	if !bytes.Equal(c, b) {
		t.Fatalf("test bug: the lease was not restored")
	}
	if counts["signature"] == 0 || counts["key"] == 0 || counts["magic"] == 0 {
		t.Errorf("flips failed as %v; expected some of each kind", counts)
	}
	t.Logf("%d flips refused: %v", len(b)*8, counts)
}

func leaseErrorKind(err error) string {
	for _, e := range []struct {
		err  error
		kind string
	}{
		{ErrLeaseSignature, "signature"}, {ErrLeaseKey, "key"}, {ErrLeaseMagic, "magic"},
		{ErrUnsupportedVersion, "version"}, {ErrShort, "short"}, {ErrTrailing, "trailing"},
		{ErrInvalidField, "invalid"}, {ErrNonCanonical, "non-canonical"},
	} {
		if errors.Is(err, e.err) {
			return e.kind
		}
	}
	return err.Error()
}
