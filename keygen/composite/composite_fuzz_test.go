package composite

import (
	"bytes"
	"testing"
)

func FuzzParsePublicKey(f *testing.F) {
	for _, s := range allSchemes {
		f.Add(int8(s), testKey(f, s, "fuzz").Public().Bytes())
	}
	f.Add(int8(1), []byte{})
	f.Add(int8(3), make([]byte, 1344))
	f.Fuzz(func(t *testing.T, s int8, raw []byte) {
		k, err := ParsePublicKey(Scheme(s), raw)
		if err != nil {
			if k != nil {
				t.Fatalf("ParsePublicKey returned a key with error %v", err)
			}
			return
		}
		if !bytes.Equal(k.Bytes(), raw) {
			t.Fatalf("Bytes() differs from the parsed input")
		}
		if k.Scheme() != Scheme(s) || len(raw) != Scheme(s).PublicKeySize() {
			t.Fatalf("accepted %d bytes as %v", len(raw), Scheme(s))
		}
		// Whatever the key, Verify of a garbage signature is false, not a panic.
		if k.Verify(raw, nil, make([]byte, k.Scheme().SignatureSize())) {
			t.Fatalf("an all-zero signature verifies")
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, s := range allSchemes {
		f.Add(int8(s), testKey(f, s, "fuzz").Bytes())
	}
	f.Add(int8(1), make([]byte, 63))
	f.Add(int8(0), make([]byte, 64))
	f.Fuzz(func(t *testing.T, s int8, raw []byte) {
		k, err := ParsePrivateKey(Scheme(s), raw)
		if err != nil {
			if k != nil {
				t.Fatalf("ParsePrivateKey returned a key with error %v", err)
			}
			return
		}
		if !bytes.Equal(k.Bytes(), raw) {
			t.Fatalf("Bytes() differs from the parsed input")
		}
		pub, err := ParsePublicKey(Scheme(s), k.Public().Bytes())
		if err != nil || !pub.Equal(k.Public()) {
			t.Fatalf("the derived public key does not round trip: %v", err)
		}
		sig, err := k.Sign(raw, nil)
		if err != nil || !pub.Verify(raw, nil, sig) {
			t.Fatalf("a signature by a parsed key does not verify: %v", err)
		}
	})
}

// FuzzVerify mutates a real signature, message and context: only the
// original triple may verify, and nothing may panic.
func FuzzVerify(f *testing.F) {
	keys := map[Scheme]*PrivateKey{}
	good := map[Scheme][]byte{}
	msg, ctx := []byte("fuzz message"), []byte("fuzz ctx")
	for _, s := range allSchemes {
		keys[s] = testKey(f, s, "fuzz")
		good[s] = mustSign(f, keys[s], msg, ctx)
		f.Add(int8(s), msg, ctx, good[s])
		f.Add(int8(s), msg, ctx, good[s][:len(good[s])-1])
		f.Add(int8(s), msg, []byte{}, good[s])
	}
	f.Add(int8(1), []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, s int8, m, c, sig []byte) {
		k := keys[Scheme(s)]
		if k == nil {
			k = keys[MLDSA44Ed25519]
		}
		if k.Public().Verify(m, c, sig) {
			if !bytes.Equal(m, msg) || !bytes.Equal(c, ctx) || !bytes.Equal(sig, good[k.Scheme()]) {
				t.Fatalf("a signature that was never made verifies")
			}
		}
	})
}
