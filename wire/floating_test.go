package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// optionalTrailer are the types whose messages end in an optional field
// (ErrorResponse's retry-at, DeactivateRequest's flags).
var optionalTrailer = map[Type]bool{TypeErrorResponse: true, TypeDeactivateRequest: true}

// readGolden reads a hex golden vector of testdata (comments after #).
func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return unhex(t, string(b))
}

// testTrailer checks a message with an optional trailing field against its
// golden encoding: it encodes and parses back to it, every prefix but the
// one that ends where the optional field begins (the message without it)
// is ErrShort, and a byte more is ErrTrailing.
func testTrailer[M Message](t *testing.T, parse func([]byte) (M, int, error), m M, golden string, optional int) {
	t.Helper()
	want := readGolden(t, golden)
	if err := m.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if got := m.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("Append differs from golden at byte %d (%d vs %d bytes)", firstDiff(got, want), len(got), len(want))
	}
	if m.Len() != len(want) || m.Len() > maxBodyLen(m.Type()) {
		t.Fatalf("Len() = %d, golden %d, maxBodyLen %d", m.Len(), len(want), maxBodyLen(m.Type()))
	}
	got, n, err := parse(want)
	if err != nil || n != len(want) || !bytes.Equal(got.Append(nil), want) {
		t.Fatalf("parse golden: n = %d, err = %v", n, err)
	}
	for i := range len(want) {
		_, _, err := parse(want[:i])
		if i == len(want)-optional {
			if err != nil {
				t.Errorf("without the optional field: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrShort) {
			t.Errorf("prefix of %d/%d bytes: err = %v, want ErrShort", i, len(want), err)
		}
	}
	if _, n, err := parse(append(want[:len(want):len(want)], 0)); !errors.Is(err, ErrTrailing) || n != 0 {
		t.Errorf("a byte more: n = %d, err = %v, want ErrTrailing", n, err)
	}
}

func TestErrorResponseRetryAt(t *testing.T) {
	m := testErrorResponse
	m.RetryAt = 1700000000
	testTrailer(t, ParseErrorResponse, m, "errorresp-retry-at.golden", 8)
	got, _, _ := ParseErrorResponse(m.Append(nil))
	if got.RetryAt != 1700000000 || got.Err().RetryAt != 1700000000 {
		t.Fatalf("retry-at parsed as %d, error's %d", got.RetryAt, got.Err().RetryAt)
	}
	// Without it the encoding is the earlier one.
	if plain, _, err := ParseErrorResponse(testErrorResponse.Append(nil)); err != nil || plain.RetryAt != 0 {
		t.Fatalf("without retry-at: %+v, %v", plain, err)
	}
	testBounds(t, ParseErrorResponse, m, []bound[ErrorResponse]{
		{"retry at 1", func(m *ErrorResponse) { m.RetryAt = 1 }, nil},
		{"retry at max", func(m *ErrorResponse) { m.RetryAt = 1<<63 - 1 }, nil},
		{"retry at negative", func(m *ErrorResponse) { m.RetryAt = -1 }, ErrInvalidField},
		{"retry at with longest message", func(m *ErrorResponse) { m.Message = repeat('m', MaxErrorMessageLen) }, nil},
	})
	zero := append(testErrorResponse.Append(nil), 0, 0, 0, 0, 0, 0, 0, 0)
	if _, n, err := ParseErrorResponse(zero); !errors.Is(err, ErrNonCanonical) || n != 0 {
		t.Fatalf("retry-at of zeros: n = %d, err = %v, want ErrNonCanonical", n, err)
	}
}

func TestDeactivateRequestCheckIn(t *testing.T) {
	m := DeactivateRequest{Nonce: testNonce, LicenseID: testLicenseID, Flags: DeactivateCheckIn}
	testTrailer(t, ParseDeactivateRequest, m, "deactivate-checkin.golden", 1)
	got, _, _ := ParseDeactivateRequest(m.Append(nil))
	if !got.CheckIn() {
		t.Fatal("check-in flag lost")
	}
	if plain, _, err := ParseDeactivateRequest(DeactivateRequest{Nonce: testNonce}.Append(nil)); err != nil || plain.CheckIn() {
		t.Fatalf("plain deactivation: %+v, %v", plain, err)
	}
	testBounds(t, ParseDeactivateRequest, m, []bound[DeactivateRequest]{
		{"unknown flag", func(m *DeactivateRequest) { m.Flags = 2 }, ErrInvalidField},
		{"check-in and unknown", func(m *DeactivateRequest) { m.Flags = 0x81 }, ErrInvalidField},
	})
	zero := append(DeactivateRequest{Nonce: testNonce}.Append(nil), 0)
	if _, n, err := ParseDeactivateRequest(zero); !errors.Is(err, ErrNonCanonical) || n != 0 {
		t.Fatalf("flags byte of zero: n = %d, err = %v, want ErrNonCanonical", n, err)
	}
}
