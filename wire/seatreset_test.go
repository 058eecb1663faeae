package wire

import (
	"os"
	"path/filepath"
	"testing"
)

var testSeatResetRequest = SeatResetRequest{Nonce: testNonce, Key: testKey, Hostname: []byte("host-1")}

var testSeatResetResponse = SeatResetResponse{Nonce: testNonce, Freed: 1, SeatsUsed: 1, Seats: 2, NextReset: 1798329600}

// testPluginActivateRequest is testActivateRequest naming a base license.
func testPluginActivateRequest() ActivateRequest {
	m := testActivateRequest
	m.Base = testLicenseID
	return m
}

// goldenText reads a golden vector of testdata.
func goldenText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSeatResetRequest(t *testing.T) {
	testCodec(t, ParseSeatResetRequest, testSeatResetRequest, goldenText(t, "seat-reset-request.golden"))
	all := SeatResetRequest{Nonce: testNonce, Key: testKey, Flags: SeatResetAll}
	testCodec(t, ParseSeatResetRequest, all, `
		000102030405060708090a0b0c0d0e0f                              # nonce
		31414a5332303132333435363738394142434445464748494a4b4c4d4e4f  # license key
		01 00                                                         # every seat, no hostname
	`)
}

func TestSeatResetRequestBounds(t *testing.T) {
	testBounds(t, ParseSeatResetRequest, testSeatResetRequest, []bound[SeatResetRequest]{
		{"hostname 64 bytes", func(m *SeatResetRequest) { m.Hostname = repeat('h', 64) }, nil},
		{"hostname 65 bytes", func(m *SeatResetRequest) { m.Hostname = repeat('h', 65) }, ErrInvalidField},
		{"hostname UTF-8", func(m *SeatResetRequest) { m.Hostname = []byte("Büro-PC") }, nil},
		{"no hostname, one machine", func(m *SeatResetRequest) { m.Hostname = nil }, ErrInvalidField},
		{"hostname with newline", func(m *SeatResetRequest) { m.Hostname = []byte("a\nb") }, ErrInvalidField},
		{"hostname bad UTF-8", func(m *SeatResetRequest) { m.Hostname = []byte("a\xff") }, ErrInvalidField},
		{"all seats and a hostname", func(m *SeatResetRequest) { m.Flags = SeatResetAll }, ErrNonCanonical},
		{"unknown flag", func(m *SeatResetRequest) { m.Flags = 2 }, ErrInvalidField},
		{"lower-case key", func(m *SeatResetRequest) { m.Key[3] = 'a' }, ErrInvalidField},
	})
}

func TestSeatResetResponse(t *testing.T) {
	testCodec(t, ParseSeatResetResponse, testSeatResetResponse, goldenText(t, "seat-reset-response.golden"))
}

func TestSeatResetResponseBounds(t *testing.T) {
	testBounds(t, ParseSeatResetResponse, testSeatResetResponse, []bound[SeatResetResponse]{
		{"resets left, no time", func(m *SeatResetResponse) { m.ResetsLeft, m.NextReset = 2, 0 }, nil},
		{"resets left and a time", func(m *SeatResetResponse) { m.ResetsLeft = 1 }, ErrNonCanonical},
		{"none left, no time", func(m *SeatResetResponse) { m.NextReset = 0 }, ErrInvalidField},
		{"nothing freed", func(m *SeatResetResponse) { m.Freed = 0 }, ErrInvalidField},
		{"more used than seats", func(m *SeatResetResponse) { m.SeatsUsed = 3 }, ErrInvalidField},
		{"negative time", func(m *SeatResetResponse) { m.NextReset = -1 }, ErrInvalidField},
	})
}
