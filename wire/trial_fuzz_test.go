package wire

import (
	"bytes"
	"testing"
)

// FuzzParseTrial checks that the trial messages' parsers never panic, and
// that what they accept appends back to exactly the bytes parsed (one
// encoding per message) and passes Check.
func FuzzParseTrial(f *testing.F) {
	f.Add(true, testTrialRequest.Append(nil))
	f.Add(false, testTrialResponse.Append(nil))
	f.Add(true, []byte{})
	f.Fuzz(func(t *testing.T, request bool, b []byte) {
		var (
			m   Message
			n   int
			err error
		)
		if request {
			m, n, err = ParseTrialRequest(b)
		} else {
			m, n, err = ParseTrialResponse(b)
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("refused with n = %d", n)
			}
			return
		}
		if n != len(b) {
			t.Fatalf("accepted %d of %d bytes", n, len(b))
		}
		if err := m.Check(); err != nil {
			t.Fatalf("accepted a message that does not Check: %v", err)
		}
		if enc := m.Append(nil); !bytes.Equal(enc, b) {
			t.Fatalf("accepted a non-canonical encoding (differs at byte %d)", firstDiff(enc, b))
		}
	})
}
