package wire

import (
	"bytes"
	"testing"
)

// FuzzParseSeatResetRequest checks that ParseSeatResetRequest never
// panics, and that what it accepts is valid and encodes back to exactly
// the input (one encoding per request).
func FuzzParseSeatResetRequest(f *testing.F) {
	f.Add(testSeatResetRequest.Append(nil))
	f.Add(SeatResetRequest{Key: testKey, Flags: SeatResetAll}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := ParseSeatResetRequest(b)
		if err != nil {
			return
		}
		if n != len(b) || m.Check() != nil || !bytes.Equal(m.Append(nil), b) {
			t.Fatalf("accepted a request that does not round-trip (n = %d of %d)", n, len(b))
		}
	})
}

// FuzzParseSeatResetResponse is FuzzParseSeatResetRequest's counterpart.
func FuzzParseSeatResetResponse(f *testing.F) {
	f.Add(testSeatResetResponse.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := ParseSeatResetResponse(b)
		if err != nil {
			return
		}
		if n != len(b) || m.Check() != nil || !bytes.Equal(m.Append(nil), b) {
			t.Fatalf("accepted a response that does not round-trip (n = %d of %d)", n, len(b))
		}
	})
}
