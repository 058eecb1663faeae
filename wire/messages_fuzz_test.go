package wire

import (
	"bytes"
	"testing"
)

// FuzzParseLeaseMessages checks that message overrides that parse encode
// back to exactly their input, and that a failure returns nothing.
func FuzzParseLeaseMessages(f *testing.F) {
	good, err := EncodeLeaseMessages(testMessages)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{0, 1, 'e', 'n', 1, 'a', 0, 1, 'x'})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseLeaseMessages(b)
		if err != nil {
			if ms != nil {
				t.Fatalf("ParseLeaseMessages returned %d messages with error %v", len(ms), err)
			}
			return
		}
		got, err := EncodeLeaseMessages(ms)
		if err != nil {
			t.Fatalf("EncodeLeaseMessages(ParseLeaseMessages(b)): %v", err)
		}
		if !bytes.Equal(got, b) && len(b) != 0 {
			t.Fatalf("EncodeLeaseMessages(ParseLeaseMessages(b)) != b\n got %x\nwant %x", got, b)
		}
	})
}
