package wire

import (
	"bytes"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// FuzzParseKeyStatement checks that a statement that parses encodes back
// to exactly its input, that a failure returns nothing, and that only the
// statement the test signed verifies.
func FuzzParseKeyStatement(f *testing.F) {
	_, b, old := testKeyStatement(f)
	keys := []*composite.PublicKey{old.Public()}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(b[:40])
	f.Add(append(bytes.Clone(b), 0))
	f.Add([]byte(KeyStatementMagic))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseKeyStatement(in)
		if err != nil {
			if s.NewKey != nil || s.Sig != nil || s.From != 0 {
				t.Fatalf("ParseKeyStatement returned a statement with error %v", err)
			}
		} else {
			if got := s.Append(nil); !bytes.Equal(got, in) {
				t.Fatalf("Append(ParseKeyStatement(b)) != b")
			}
			if s.Len() != len(in) {
				t.Fatalf("Len() = %d, want %d", s.Len(), len(in))
			}
		}
		if _, err := VerifyKeyStatement(in, keys); err == nil && !bytes.Equal(in, b) {
			t.Fatalf("a statement the test did not sign verifies")
		}
	})
}
