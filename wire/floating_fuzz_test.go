package wire

import (
	"bytes"
	"testing"
)

// FuzzFloatingTrailers parses ErrorResponse and DeactivateRequest bodies,
// the two messages with an optional trailing field (retry-at, check-in
// flags): the first input byte picks the message. What parses must Check
// and encode back to exactly the input; what does not returns n = 0.
func FuzzFloatingTrailers(f *testing.F) {
	er := testErrorResponse
	er.RetryAt = 1700000000
	f.Add(append([]byte{0}, er.Append(nil)...))
	f.Add(append([]byte{0}, testErrorResponse.Append(nil)...))
	f.Add(append([]byte{1}, DeactivateRequest{Nonce: testNonce, LicenseID: testLicenseID, Flags: DeactivateCheckIn}.Append(nil)...))
	f.Add(append([]byte{1}, DeactivateRequest{Nonce: testNonce}.Append(nil)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		var m Message
		var n int
		var err error
		if in[0]&1 == 0 {
			m, n, err = ParseErrorResponse(in[1:])
		} else {
			m, n, err = ParseDeactivateRequest(in[1:])
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("failed parse returned n = %d", n)
			}
			return
		}
		if cerr := m.Check(); cerr != nil {
			t.Fatalf("parsed message does not Check: %v", cerr)
		}
		if n != len(in)-1 || m.Len() != n || !bytes.Equal(m.Append(nil), in[1:]) {
			t.Fatalf("parsed message does not encode back to its input")
		}
	})
}
