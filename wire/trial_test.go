package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testTrialRequest = TrialRequest{
	Nonce:       testNonce,
	Product:     [ProductSize]byte([]byte("1CJS2")),
	Fingerprint: testFP,
	Hostname:    []byte("host-1"),
	AppVersion:  []byte("2.1.0"),
}

const goldenTrialRequest = `
	000102030405060708090a0b0c0d0e0f     # nonce
	31434a5332                           # product "1CJS2"
	02 01 1111111111111111 05 5555555555555555  # fingerprint: 2 components
	06 686f73742d31                      # hostname "host-1"
	05 322e312e30                        # app version "2.1.0"
`

func TestTrialRequest(t *testing.T) {
	testCodec(t, ParseTrialRequest, testTrialRequest, goldenTrialRequest)
}

func TestTrialRequestBounds(t *testing.T) {
	testBounds(t, ParseTrialRequest, testTrialRequest, []bound[TrialRequest]{
		{"hostname empty", func(m *TrialRequest) { m.Hostname = nil }, nil},
		{"hostname 64 bytes", func(m *TrialRequest) { m.Hostname = repeat('h', 64) }, nil},
		{"hostname 65 bytes", func(m *TrialRequest) { m.Hostname = repeat('h', 65) }, ErrInvalidField},
		{"hostname UTF-8", func(m *TrialRequest) { m.Hostname = []byte("Büro-PC") }, nil},
		{"hostname with newline", func(m *TrialRequest) { m.Hostname = []byte("host\nx") }, ErrInvalidField},
		{"hostname bad UTF-8", func(m *TrialRequest) { m.Hostname = []byte("host\xff") }, ErrInvalidField},
		{"app version 32 bytes", func(m *TrialRequest) { m.AppVersion = repeat('9', 32) }, nil},
		{"app version 33 bytes", func(m *TrialRequest) { m.AppVersion = repeat('9', 33) }, ErrInvalidField},
		{"app version with tab", func(m *TrialRequest) { m.AppVersion = []byte("2.1\t") }, ErrInvalidField},
		{"product lower case", func(m *TrialRequest) { m.Product[1] = 'c' }, ErrInvalidField},
		{"product with dash", func(m *TrialRequest) { m.Product[4] = '-' }, ErrInvalidField},
		{"product zero bytes", func(m *TrialRequest) { m.Product = [ProductSize]byte{} }, ErrInvalidField},
		{"fingerprint full", func(m *TrialRequest) { m.Fingerprint = fullFingerprint() }, nil},
		{"fingerprint empty", func(m *TrialRequest) { m.Fingerprint = Fingerprint{} }, ErrInvalidField},
		{"fingerprint kinds unordered", func(m *TrialRequest) {
			m.Fingerprint.C[0].Kind, m.Fingerprint.C[1].Kind = KindMAC, KindMachineID
		}, ErrNonCanonical},
		{"fingerprint kind 32", func(m *TrialRequest) { m.Fingerprint.C[1].Kind = MaxKind + 1 }, ErrInvalidField},
	})
}

func TestTrialRequestBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 31434a5332 "
	testBadBytes(t, ParseTrialRequest, []badBytes{
		{"fingerprint count 13", head + "0d" + strings.Repeat("00", 13*9) + "00 00", ErrInvalidField},
		{"fingerprint count 0", head + "00 00 00", ErrInvalidField},
		{"hostname longer than body", head + "01 01 1111111111111111 ff 686f7374 00", ErrShort},
		{"app version missing", head + "01 01 1111111111111111 00", ErrShort},
		{"product not 0-9A-Z", "000102030405060708090a0b0c0d0e0f 31434a5320 01 01 1111111111111111 00 00", ErrInvalidField},
	})
}

var testTrialResponse = TrialResponse{
	Nonce:     testNonce,
	LicenseID: testLicenseID,
	Ends:      1767225600, // 2026-01-01
	Lease:     []byte{0xde, 0xad, 0xbe, 0xef},
}

const goldenTrialResponse = `
	000102030405060708090a0b0c0d0e0f  # nonce
	a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # license id
	000000006955b900                  # ends: 2026-01-01T00:00:00Z
	0004 deadbeef                     # lease, 4 bytes
`

func TestTrialResponse(t *testing.T) {
	testCodec(t, ParseTrialResponse, testTrialResponse, goldenTrialResponse)
}

func TestTrialResponseBounds(t *testing.T) {
	testBounds(t, ParseTrialResponse, testTrialResponse, []bound[TrialResponse]{
		{"lease 1 byte", func(m *TrialResponse) { m.Lease = []byte{1} }, nil},
		{"lease empty", func(m *TrialResponse) { m.Lease = nil }, ErrInvalidField},
		{"lease max", func(m *TrialResponse) { m.Lease = repeat(0xaa, MaxLeaseSize) }, nil},
		{"lease max+1", func(m *TrialResponse) { m.Lease = repeat(0xaa, MaxLeaseSize+1) }, ErrInvalidField},
		{"ends 1", func(m *TrialResponse) { m.Ends = 1 }, nil},
		{"ends zero", func(m *TrialResponse) { m.Ends = 0 }, ErrInvalidField},
		{"ends negative", func(m *TrialResponse) { m.Ends = -1 }, ErrInvalidField},
	})
}

// TestTrialGoldenFile: testdata/trial.golden, the vectors other
// implementations read, holds the encodings these tests check.
func TestTrialGoldenFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "trial.golden"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]*strings.Builder{}
	var cur *strings.Builder
	for line := range strings.Lines(string(b)) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "["); ok {
			cur = &strings.Builder{}
			sections[strings.TrimSuffix(name, "]")] = cur
			continue
		}
		if cur != nil {
			cur.WriteString(line)
		}
	}
	for name, m := range map[string]Message{"TrialRequest": testTrialRequest, "TrialResponse": testTrialResponse} {
		s, ok := sections[name]
		if !ok {
			t.Fatalf("testdata/trial.golden has no [%s]", name)
		}
		if got, want := unhex(t, s.String()), m.Append(nil); !bytes.Equal(got, want) {
			t.Errorf("[%s] differs from the encoding at byte %d", name, firstDiff(got, want))
		}
	}
}
