package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Fixed keys of the offline tests: the golden files are made with them.
var (
	testInstallPriv = [32]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30}
	testGatewayPriv = [32]byte{0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50,
		0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60}
	testOtherPriv = [32]byte{0x71, 0x72, 0x73}
)

// testOfflineRequestBytes returns the golden request, sealed with the
// fixed keys for the test gateway.
func testOfflineRequestBytes(tb testing.TB) (OfflineRequest, []byte) {
	tb.Helper()
	m := OfflineRequest{Product: testProduct, Nonce: testNonce, Created: 0x67000000, Fingerprint: testFP,
		Hostname: []byte("lab-pc-7"), AppVersion: []byte("2.4.1")}
	gw := x25519Public(tb, testGatewayPriv)
	b, err := SealOfflineRequest(&m, &testKey, &testInstallPriv, &gw)
	if err != nil {
		tb.Fatal(err)
	}
	return m, b
}

func testOfflineRequest(tb testing.TB) OfflineRequest {
	m, _ := testOfflineRequestBytes(tb)
	return m
}

func testOfflineReleaseBytes(tb testing.TB) (OfflineRelease, []byte) {
	tb.Helper()
	m := OfflineRelease{LicenseID: testLicenseID, LeaseIssued: 0x67000100, Nonce: testNonce, Created: 0x67000200}
	gw := x25519Public(tb, testGatewayPriv)
	b, err := SignOfflineRelease(&m, &testInstallPriv, &gw)
	if err != nil {
		tb.Fatal(err)
	}
	return m, b
}

func testOfflineRelease(tb testing.TB) OfflineRelease {
	m, _ := testOfflineReleaseBytes(tb)
	return m
}

// golden compares got with the file testdata/name; TOLLGATE_UPDATE_GOLDEN=1
// writes it instead (only for a deliberate change of the format).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("TOLLGATE_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the encoding changed: first difference at byte %d", name, firstDiff(got, want))
	}
}

// TestOfflineRequestGolden pins the request format and its key
// derivation: the golden file, made with fixed keys, parses, opens with
// the gateway's key to the license key, and encodes back to itself.
func TestOfflineRequestGolden(t *testing.T) {
	m, b := testOfflineRequestBytes(t)
	if b[0] != 'T' || len(b) != m.Len() || !bytes.Equal(m.Append(nil), b) {
		t.Fatalf("SealOfflineRequest gave %d bytes, Len %d, Append differs", len(b), m.Len())
	}
	text := ArmorOfflineRequest(b)
	golden(t, "offline-request.golden", text)
	raw, err := DearmorOfflineRequest(text)
	if err != nil || !bytes.Equal(raw, b) {
		t.Fatalf("Dearmor: %v", err)
	}
	p, n, err := ParseOfflineRequest(raw)
	if err != nil || n != len(raw) {
		t.Fatalf("ParseOfflineRequest: %d, %v", n, err)
	}
	if p.InstallKey != x25519Public(t, testInstallPriv) || p.Product != testProduct || p.Nonce != testNonce ||
		string(p.Hostname) != "lab-pc-7" || string(p.AppVersion) != "2.4.1" || p.Created != 0x67000000 {
		t.Fatalf("parsed request differs from the one sealed")
	}
	if bytes.Contains(raw, testKey[:]) || bytes.Contains(text, testKey[:]) {
		t.Fatal("the license key is readable in the request")
	}
	key, err := OpenOfflineRequest(&p, &testGatewayPriv)
	if err != nil || key != testKey {
		t.Fatalf("OpenOfflineRequest: %v (key equal: %v)", err, key == testKey)
	}
	if p.InstallID() != [32]byte(sha256Of(p.InstallKey[:])) {
		t.Fatal("InstallID is not the SHA-256 of the install key")
	}
}

// TestOfflineRequestRefused checks that every changed byte, another
// gateway and another install are refused by OpenOfflineRequest.
func TestOfflineRequestRefused(t *testing.T) {
	_, b := testOfflineRequestBytes(t)
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		m, _, err := ParseOfflineRequest(c)
		if err != nil {
			continue // the parser caught it
		}
		if _, err := OpenOfflineRequest(&m, &testGatewayPriv); !errors.Is(err, ErrOfflineSeal) {
			t.Fatalf("byte %d changed: OpenOfflineRequest = %v, want ErrOfflineSeal", i, err)
		}
	}
	m, _, err := ParseOfflineRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenOfflineRequest(&m, &testOtherPriv); !errors.Is(err, ErrOfflineSeal) {
		t.Fatalf("another gateway's key: %v, want ErrOfflineSeal", err)
	}
	// Another install's key put in place of the one that sealed.
	other := x25519Public(t, testOtherPriv)
	m.InstallKey = other
	if _, err := OpenOfflineRequest(&m, &testGatewayPriv); !errors.Is(err, ErrOfflineSeal) {
		t.Fatalf("another install's key: %v, want ErrOfflineSeal", err)
	}
	// A low-order install key: the exchange gives zero.
	m.InstallKey = [32]byte{1}
	if _, err := OpenOfflineRequest(&m, &testGatewayPriv); !errors.Is(err, ErrOfflineSeal) {
		t.Fatalf("low-order install key: %v, want ErrOfflineSeal", err)
	}
}

// TestOfflineRequestMalformed checks the parser refuses what is short,
// long, out of range or non-canonical, each with a wire error and nothing
// returned.
func TestOfflineRequestMalformed(t *testing.T) {
	m, b := testOfflineRequestBytes(t)
	fpOff := offlineRequestFixed
	hostOff := fpOff + m.Fingerprint.Len()
	set := func(off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"magic prefix", []byte("TG"), ErrShort},
		{"other magic", set(0, 'T', 'G', 'R', 'L'), ErrInvalidField},
		{"a lease", []byte("TGLS\x01"), ErrInvalidField},
		{"version 2", set(4, 2), ErrUnsupportedVersion},
		{"version 0", set(4, 0), ErrUnsupportedVersion},
		{"product lower case", set(5, 'a'), ErrInvalidField},
		{"zero install key", set(10, make([]byte, 32)...), ErrInvalidField},
		{"created zero", set(58, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidField},
		{"created negative", set(58, 0x80), ErrInvalidField},
		{"no fingerprint components", set(fpOff, 0), ErrInvalidField},
		{"kinds out of order", set(fpOff+1, byte(KindMAC)), ErrNonCanonical},
		{"hostname control", set(hostOff+1, '\n'), ErrInvalidField},
		{"hostname too long", slices.Concat(b[:hostOff], []byte{MaxHostnameLen + 1}, repeat('h', MaxHostnameLen+1), b[hostOff+1+8:]), ErrInvalidField},
		{"app version not printable", set(hostOff+1+8+1, 0x7f), ErrInvalidField},
		{"no tag", b[:len(b)-OfflineTagSize], ErrShort},
		{"one byte short", b[:len(b)-1], ErrShort},
		{"trailing byte", append(bytes.Clone(b), 0), ErrTrailing},
	}
	for _, tc := range cases {
		got, n, err := ParseOfflineRequest(tc.b)
		if !errors.Is(err, tc.want) || n != 0 || !isZero(got) {
			t.Errorf("%s: %d, %v; want %v and nothing", tc.name, n, err, tc.want)
		}
	}
	for i := range b {
		if _, _, err := ParseOfflineRequest(b[:i]); !errors.Is(err, ErrShort) {
			t.Fatalf("prefix of %d bytes: %v, want ErrShort", i, err)
		}
	}
}

// TestOfflineReleaseGolden pins the release proof format.
func TestOfflineReleaseGolden(t *testing.T) {
	m, b := testOfflineReleaseBytes(t)
	if len(b) != OfflineReleaseLen || !bytes.Equal(m.Append(nil), b) {
		t.Fatalf("SignOfflineRelease gave %d bytes", len(b))
	}
	text := ArmorOfflineRelease(b)
	golden(t, "offline-release.golden", text)
	raw, err := DearmorOfflineRelease(text)
	if err != nil {
		t.Fatal(err)
	}
	p, n, err := ParseOfflineRelease(raw)
	if err != nil || n != OfflineReleaseLen || p != m {
		t.Fatalf("ParseOfflineRelease: %d, %v", n, err)
	}
	if err := VerifyOfflineRelease(&p, &testGatewayPriv); err != nil {
		t.Fatalf("VerifyOfflineRelease: %v", err)
	}
	if err := VerifyOfflineRelease(&p, &testOtherPriv); !errors.Is(err, ErrOfflineSeal) {
		t.Fatalf("another gateway: %v, want ErrOfflineSeal", err)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x80
		q, _, err := ParseOfflineRelease(c)
		if err != nil {
			continue
		}
		if err := VerifyOfflineRelease(&q, &testGatewayPriv); !errors.Is(err, ErrOfflineSeal) {
			t.Fatalf("byte %d changed: %v, want ErrOfflineSeal", i, err)
		}
	}
	// The request's armor is not a release's, nor the other way round.
	if _, err := DearmorOfflineRelease(ArmorOfflineRequest(b)); !errors.Is(err, ErrArmor) {
		t.Fatalf("request armor read as a release: %v", err)
	}
	if _, err := DearmorOfflineRequest(text); !errors.Is(err, ErrArmor) {
		t.Fatalf("release armor read as a request: %v", err)
	}
	if _, err := DearmorLease(text); !errors.Is(err, ErrArmor) {
		t.Fatalf("release armor read as a lease: %v", err)
	}
}

func TestOfflineReleaseMalformed(t *testing.T) {
	_, b := testOfflineReleaseBytes(t)
	set := func(off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"request magic", set(0, 'T', 'G', 'A', 'R'), ErrInvalidField},
		{"version 2", set(4, 2), ErrUnsupportedVersion},
		{"zero install key", set(5, make([]byte, 32)...), ErrInvalidField},
		{"lease issued zero", set(53, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidField},
		{"lease issued negative", set(53, 0xff), ErrInvalidField},
		{"created zero", set(77, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidField},
		{"short", b[:len(b)-1], ErrShort},
		{"trailing", append(bytes.Clone(b), 0), ErrTrailing},
	} {
		got, n, err := ParseOfflineRelease(tc.b)
		if !errors.Is(err, tc.want) || n != 0 || !isZero(got) {
			t.Errorf("%s: %d, %v; want %v and nothing", tc.name, n, err, tc.want)
		}
	}
}

// TestOfflineFrames checks the shop channel's frames: golden layout
// around the files, strict inner parse, and the inner version refused as a
// bad request.
func TestOfflineFrames(t *testing.T) {
	_, rb := testOfflineRequestBytes(t)
	req := OfflineAnswerRequest{Nonce: testNonce, Request: testOfflineRequest(t)}
	body := req.Append(nil)
	if !bytes.Equal(body[:NonceSize], testNonce[:]) || int(body[16])<<8|int(body[17]) != len(rb) || !bytes.Equal(body[18:], rb) {
		t.Fatal("OfflineAnswerRequest is not nonce, length, request")
	}
	got, _, err := ParseOfflineAnswerRequest(body)
	if err != nil || !bytes.Equal(got.Request.Append(nil), rb) {
		t.Fatalf("ParseOfflineAnswerRequest: %v", err)
	}
	bad := bytes.Clone(body)
	bad[18+4] = 2
	if _, _, err := ParseOfflineAnswerRequest(bad); StatusOf(err) != StatusBadRequest {
		t.Fatalf("inner version 2: %v, want a bad request", err)
	}
	bad = append(bytes.Clone(body[:16]), 0, byte(len(rb)-1))
	bad = append(bad, rb[:len(rb)-1]...)
	if _, _, err := ParseOfflineAnswerRequest(bad); !errors.Is(err, ErrShort) {
		t.Fatalf("request cut short inside its length: %v, want ErrShort", err)
	}
	_, pb := testOfflineReleaseBytes(t)
	rel := OfflineReleaseRequest{Nonce: testNonce, Release: testOfflineRelease(t)}
	if b := rel.Append(nil); !bytes.Equal(b, append(testNonce[:], pb...)) {
		t.Fatal("OfflineReleaseRequest is not nonce, proof")
	}
}

// TestOfflineRequestNotSealable checks SealOfflineRequest refuses a
// request it could not send, and a key with characters outside 0-9A-Z.
func TestOfflineRequestNotSealable(t *testing.T) {
	gw := x25519Public(t, testGatewayPriv)
	m := OfflineRequest{Product: testProduct, Nonce: testNonce, Created: 0, Fingerprint: testFP}
	if _, err := SealOfflineRequest(&m, &testKey, &testInstallPriv, &gw); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("created 0: %v", err)
	}
	m.Created = 1
	bad := testKey
	bad[3] = '-'
	if _, err := SealOfflineRequest(&m, &bad, &testInstallPriv, &gw); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := SealOfflineRequest(&m, &testKey, &testInstallPriv, &[32]byte{}); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("zero gateway key: %v", err)
	}
}
