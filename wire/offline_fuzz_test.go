package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
)

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }

// FuzzParseOfflineRequest checks that a request that parses encodes back
// to exactly its input, that a failure returns nothing and a wire error,
// and that only the request the test sealed opens.
func FuzzParseOfflineRequest(f *testing.F) {
	_, b := testOfflineRequestBytes(f)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(append(bytes.Clone(b), 0))
	f.Add([]byte(OfflineRequestMagic))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, n, err := ParseOfflineRequest(in)
		if err != nil {
			if n != 0 || !isZero(m) {
				t.Fatalf("error %v with n = %d and a request", err, n)
			}
			if s := StatusOf(err); s != StatusBadRequest && s != StatusUnsupportedVersion {
				t.Fatalf("error %v is not a parse error", err)
			}
			return
		}
		if n != len(in) || m.Len() != n || !bytes.Equal(m.Append(nil), in) {
			t.Fatalf("n = %d, Len %d, input %d bytes, or Append differs", n, m.Len(), len(in))
		}
		if err := m.Check(); err != nil {
			t.Fatalf("Check of a parsed request: %v", err)
		}
		if _, err := OpenOfflineRequest(&m, &testGatewayPriv); err == nil && !bytes.Equal(in, b) {
			t.Fatal("a request the test did not seal opens")
		} else if err != nil && !errors.Is(err, ErrOfflineSeal) {
			t.Fatalf("OpenOfflineRequest: %v, want ErrOfflineSeal", err)
		}
	})
}

// FuzzParseOfflineRelease is FuzzParseOfflineRequest for release proofs.
func FuzzParseOfflineRelease(f *testing.F) {
	_, b := testOfflineReleaseBytes(f)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte(OfflineReleaseMagic))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, n, err := ParseOfflineRelease(in)
		if err != nil {
			if n != 0 || !isZero(m) {
				t.Fatalf("error %v with n = %d and a proof", err, n)
			}
			if s := StatusOf(err); s != StatusBadRequest && s != StatusUnsupportedVersion {
				t.Fatalf("error %v is not a parse error", err)
			}
			return
		}
		if n != len(in) || !bytes.Equal(m.Append(nil), in) {
			t.Fatal("a parsed proof does not encode back to its input")
		}
		if err := VerifyOfflineRelease(&m, &testGatewayPriv); err == nil && !bytes.Equal(in, b) {
			t.Fatal("a proof the test did not sign verifies")
		}
	})
}

// FuzzDearmorOffline checks the request armor: what dearmors armors back
// to exactly the input (one text form), up to "\r\n" and a last newline.
func FuzzDearmorOffline(f *testing.F) {
	_, b := testOfflineRequestBytes(f)
	text := ArmorOfflineRequest(b)
	f.Add(text)
	f.Add(text[:len(text)-1])
	f.Add(bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n")))
	f.Add(ArmorOfflineRelease(b))
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, err := DearmorOfflineRequest(in)
		if err != nil {
			if raw != nil || !errors.Is(err, ErrArmor) {
				t.Fatalf("%v with %d bytes", err, len(raw))
			}
			return
		}
		norm := bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(norm, []byte("\n")) {
			norm = append(norm, '\n')
		}
		if !bytes.Equal(ArmorOfflineRequest(raw), norm) {
			t.Fatal("the armor of what was read is not the input")
		}
	})
}
