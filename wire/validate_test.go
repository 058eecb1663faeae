package wire

import (
	"strings"
	"testing"
)

var testValidateRequest = ValidateRequest{
	Nonce:       testNonce,
	LicenseID:   testLicenseID,
	Counter:     0x0102,
	Flags:       ValidateWantLease,
	Fingerprint: testFP,
}

const goldenValidateRequest = `
	000102030405060708090a0b0c0d0e0f            # nonce
	a0a1a2a3a4a5a6a7a8a9aaabacadaeaf            # license id
	0000000000000102                            # counter
	01                                          # flags: want lease
	02 01 1111111111111111 05 5555555555555555  # fingerprint: 2 components
`

func TestValidateRequest(t *testing.T) {
	testCodec(t, ParseValidateRequest, testValidateRequest, goldenValidateRequest)
	if !testValidateRequest.WantLease() {
		t.Errorf("WantLease() = false with the flag set")
	}
	if (ValidateRequest{}).WantLease() {
		t.Errorf("WantLease() = true with no flags")
	}
}

func TestValidateRequestBounds(t *testing.T) {
	testBounds(t, ParseValidateRequest, testValidateRequest, []bound[ValidateRequest]{
		{"no flags", func(m *ValidateRequest) { m.Flags = 0 }, nil},
		{"reserved flag 1", func(m *ValidateRequest) { m.Flags = 1 << 1 }, ErrNonCanonical},
		{"reserved flag 7", func(m *ValidateRequest) { m.Flags = ValidateWantLease | 1<<7 }, ErrNonCanonical},
		{"counter max", func(m *ValidateRequest) { m.Counter = ^uint64(0) }, nil},
		{"fingerprint full", func(m *ValidateRequest) { m.Fingerprint = fullFingerprint() }, nil},
		{"fingerprint empty", func(m *ValidateRequest) { m.Fingerprint = Fingerprint{} }, ErrInvalidField},
		{"fingerprint kind repeated", func(m *ValidateRequest) { m.Fingerprint.C[1].Kind = KindMachineID }, ErrNonCanonical},
	})
}

func TestValidateRequestBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 0000000000000102 00 "
	testBadBytes(t, ParseValidateRequest, []badBytes{
		{"fingerprint count 13", head + "0d" + strings.Repeat("00", 13*9), ErrInvalidField},
		{"fingerprint cut", head + "02 01 1111111111111111 05 55555555", ErrShort},
		{"fingerprint then trailing", head + "01 01 1111111111111111 00", ErrTrailing},
	})
}

var testValidateResponse = ValidateResponse{
	Nonce:      testNonce,
	Status:     StatusOK,
	Counter:    0x0102,
	ServerTime: 1700000000,
}

const goldenValidateResponse = `
	000102030405060708090a0b0c0d0e0f  # nonce
	0000                              # status OK
	0000000000000102                  # counter
	000000006553f100                  # server time 1700000000
	00000000                          # changed: nothing
	0000                              # no lease
`

func TestValidateResponse(t *testing.T) {
	testCodec(t, ParseValidateResponse, testValidateResponse, goldenValidateResponse)
}

func TestValidateResponseWithLease(t *testing.T) {
	m := testValidateResponse
	m.Status = StatusSuspended
	m.Changed = 1<<KindDisk | 1<<KindHostname
	m.Lease = []byte{0xca, 0xfe}
	testCodec(t, ParseValidateResponse, m, `
		000102030405060708090a0b0c0d0e0f  # nonce
		0003                              # status SUSPENDED
		0000000000000102                  # counter
		000000006553f100                  # server time 1700000000
		00000280                          # changed: disk (7) and hostname (9)
		0002 cafe                         # lease, 2 bytes
	`)
}

func TestValidateResponseBounds(t *testing.T) {
	testBounds(t, ParseValidateResponse, testValidateResponse, []bound[ValidateResponse]{
		{"lease max", func(m *ValidateResponse) { m.Lease = repeat(0xaa, MaxLeaseSize) }, nil},
		{"lease max+1", func(m *ValidateResponse) { m.Lease = repeat(0xaa, MaxLeaseSize+1) }, ErrInvalidField},
		{"last known status", func(m *ValidateResponse) { m.Status = StatusInstallCloned }, nil},
		{"unknown status", func(m *ValidateResponse) { m.Status = Status(len(statusNames)) }, ErrInvalidField},
		{"status 0xffff", func(m *ValidateResponse) { m.Status = 0xffff }, ErrInvalidField},
		{"server time 0", func(m *ValidateResponse) { m.ServerTime = 0 }, nil},
		{"server time negative", func(m *ValidateResponse) { m.ServerTime = -1 }, ErrInvalidField},
		{"changed bit 0", func(m *ValidateResponse) { m.Changed = 1 }, ErrInvalidField},
		{"changed bit 31", func(m *ValidateResponse) { m.Changed = 1 << 31 }, nil},
	})
}

func TestValidateResponseBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 0000 0000000000000102 000000006553f100 00000000 "
	testBadBytes(t, ParseValidateResponse, []badBytes{
		{"lease longer than body", head + "0003 aabb", ErrShort},
		{"lease shorter than body", head + "0001 aabb", ErrTrailing},
		{"lease length 0x4001", head + "4001" + strings.Repeat("aa", 0x4001), ErrInvalidField},
	})
}
