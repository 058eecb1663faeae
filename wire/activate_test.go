package wire

import (
	"strings"
	"testing"
)

var testActivateRequest = ActivateRequest{
	Nonce:       testNonce,
	Key:         testKey,
	Fingerprint: testFP,
	Hostname:    []byte("host-1"),
	AppVersion:  []byte("2.1.0"),
}

const goldenActivateRequest = `
	000102030405060708090a0b0c0d0e0f                              # nonce
	31414a5332303132333435363738394142434445464748494a4b4c4d4e4f  # license key
	02 01 1111111111111111 05 5555555555555555                    # fingerprint: 2 components
	06 686f73742d31                                               # hostname "host-1"
	05 322e312e30                                                 # app version "2.1.0"
`

func TestActivateRequest(t *testing.T) {
	testCodec(t, ParseActivateRequest, testActivateRequest, goldenActivateRequest)
}

// fullFingerprint has MaxComponents components, the largest encoding.
func fullFingerprint() Fingerprint {
	var f Fingerprint
	f.N = MaxComponents
	for i := range f.C {
		f.C[i] = FPComponent{Kind: ComponentKind(i + 1), Hash: [FPHashSize]byte{byte(i + 1), 1, 2, 3, 4, 5, 6, 7}}
	}
	return f
}

func TestActivateRequestBounds(t *testing.T) {
	testBounds(t, ParseActivateRequest, testActivateRequest, []bound[ActivateRequest]{
		{"hostname empty", func(m *ActivateRequest) { m.Hostname = nil }, nil},
		{"hostname 64 bytes", func(m *ActivateRequest) { m.Hostname = repeat('h', 64) }, nil},
		{"hostname 65 bytes", func(m *ActivateRequest) { m.Hostname = repeat('h', 65) }, ErrInvalidField},
		{"hostname UTF-8", func(m *ActivateRequest) { m.Hostname = []byte("Büro-PC-Zürich") }, nil},
		{"hostname with space", func(m *ActivateRequest) { m.Hostname = []byte("Anna's PC") }, nil},
		{"hostname with NUL", func(m *ActivateRequest) { m.Hostname = []byte("host\x00") }, ErrInvalidField},
		{"hostname with newline", func(m *ActivateRequest) { m.Hostname = []byte("host\nx") }, ErrInvalidField},
		{"hostname with escape", func(m *ActivateRequest) { m.Hostname = []byte("\x1b[31mhost") }, ErrInvalidField},
		{"hostname with DEL", func(m *ActivateRequest) { m.Hostname = []byte("host\x7f") }, ErrInvalidField},
		{"hostname with C1 control", func(m *ActivateRequest) { m.Hostname = []byte("host\u0085") }, ErrInvalidField},
		{"hostname bad UTF-8", func(m *ActivateRequest) { m.Hostname = []byte("host\xff") }, ErrInvalidField},
		{"hostname truncated UTF-8", func(m *ActivateRequest) { m.Hostname = []byte("host\xc3") }, ErrInvalidField},
		{"hostname surrogate", func(m *ActivateRequest) { m.Hostname = []byte("\xed\xa0\x80") }, ErrInvalidField},
		{"app version empty", func(m *ActivateRequest) { m.AppVersion = nil }, nil},
		{"app version 32 bytes", func(m *ActivateRequest) { m.AppVersion = repeat('9', 32) }, nil},
		{"app version 33 bytes", func(m *ActivateRequest) { m.AppVersion = repeat('9', 33) }, ErrInvalidField},
		{"app version all printable", func(m *ActivateRequest) { m.AppVersion = []byte(" ~2.1 (beta)") }, nil},
		{"app version with tab", func(m *ActivateRequest) { m.AppVersion = []byte("2.1\t") }, ErrInvalidField},
		{"app version non-ASCII", func(m *ActivateRequest) { m.AppVersion = []byte("2.1é") }, ErrInvalidField},
		{"key lower case", func(m *ActivateRequest) { m.Key[7] = 'a' }, ErrInvalidField},
		{"key with dash", func(m *ActivateRequest) { m.Key[5] = '-' }, ErrInvalidField},
		{"key zero bytes", func(m *ActivateRequest) { m.Key = [KeySize]byte{} }, ErrInvalidField},
		{"fingerprint full", func(m *ActivateRequest) { m.Fingerprint = fullFingerprint() }, nil},
		{"fingerprint one component", func(m *ActivateRequest) { m.Fingerprint.N = 1 }, nil},
		{"fingerprint empty", func(m *ActivateRequest) { m.Fingerprint = Fingerprint{} }, ErrInvalidField},
		{"fingerprint kinds unordered", func(m *ActivateRequest) {
			m.Fingerprint.C[0].Kind, m.Fingerprint.C[1].Kind = KindMAC, KindMachineID
		}, ErrNonCanonical},
		{"fingerprint kind repeated", func(m *ActivateRequest) { m.Fingerprint.C[1].Kind = KindMachineID }, ErrNonCanonical},
		{"fingerprint kind 0", func(m *ActivateRequest) { m.Fingerprint.C[0].Kind = 0 }, ErrNonCanonical},
		{"fingerprint kind 32", func(m *ActivateRequest) { m.Fingerprint.C[1].Kind = MaxKind + 1 }, ErrInvalidField},
	})
}

func TestActivateRequestBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 31414a5332303132333435363738394142434445464748494a4b4c4d4e4f "
	testBadBytes(t, ParseActivateRequest, []badBytes{
		{"fingerprint count 13", head + "0d" + strings.Repeat("00", 13*9) + "00 00", ErrInvalidField},
		{"fingerprint count 0", head + "00 00 00", ErrInvalidField},
		{"hostname longer than body", head + "01 01 1111111111111111 ff 686f7374 00", ErrShort},
		{"hostname length 65", head + "01 01 1111111111111111 41" + strings.Repeat("68", 65) + "00", ErrInvalidField},
		{"app version missing", head + "01 01 1111111111111111 00", ErrShort},
	})
}

var testActivateResponse = ActivateResponse{
	Nonce:     testNonce,
	LicenseID: testLicenseID,
	Changed:   1 << KindMAC,
	Lease:     []byte{0xde, 0xad, 0xbe, 0xef},
}

const goldenActivateResponse = `
	000102030405060708090a0b0c0d0e0f  # nonce
	a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # license id
	00000020                          # changed: bit 5, the MAC addresses
	0004 deadbeef                     # lease, 4 bytes
`

func TestActivateResponse(t *testing.T) {
	testCodec(t, ParseActivateResponse, testActivateResponse, goldenActivateResponse)
}

func TestActivateResponseBounds(t *testing.T) {
	testBounds(t, ParseActivateResponse, testActivateResponse, []bound[ActivateResponse]{
		{"lease 1 byte", func(m *ActivateResponse) { m.Lease = []byte{1} }, nil},
		{"lease empty", func(m *ActivateResponse) { m.Lease = nil }, ErrInvalidField},
		{"lease max", func(m *ActivateResponse) { m.Lease = repeat(0xaa, MaxLeaseSize) }, nil},
		{"lease max+1", func(m *ActivateResponse) { m.Lease = repeat(0xaa, MaxLeaseSize+1) }, ErrInvalidField},
		{"changed none", func(m *ActivateResponse) { m.Changed = 0 }, nil},
		{"changed every kind", func(m *ActivateResponse) { m.Changed = ^uint32(1) }, nil},
		{"changed bit 0", func(m *ActivateResponse) { m.Changed = 1 }, ErrInvalidField},
	})
}
