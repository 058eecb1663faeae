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

// FuzzVerify alters a real signature, its message and its context: only
// the original triple may verify, and nothing may panic. The signature is
// altered by XORing patch into it at offset at and, when size is not zero,
// cutting or zero-padding it to size mod (SignatureSize+65) bytes; keeping
// the fuzzer's input small this way keeps its minimizer fast, which a raw
// 2.5 KB signature argument does not.
func FuzzVerify(f *testing.F) {
	keys := map[Scheme]*PrivateKey{}
	good := map[Scheme][]byte{}
	msg, ctx := []byte("fuzz message"), []byte("fuzz ctx")
	for _, s := range allSchemes {
		keys[s] = testKey(f, s, "fuzz")
		good[s] = mustSign(f, keys[s], msg, ctx)
		in, _ := s.info()
		f.Add(int8(s), msg, ctx, uint16(0), []byte{}, uint16(0))
		f.Add(int8(s), msg, ctx, uint16(in.mldsaSigSize), []byte{1}, uint16(0))
		f.Add(int8(s), msg, ctx, uint16(0), []byte{}, uint16(s.SignatureSize()-1))
		f.Add(int8(s), msg, []byte{}, uint16(0), []byte{}, uint16(0))
	}
	f.Fuzz(func(t *testing.T, s int8, m, c []byte, at uint16, patch []byte, size uint16) {
		k := keys[Scheme(s)]
		if k == nil {
			k = keys[MLDSA44Ed25519]
		}
		real := good[k.Scheme()]
		sig := bytes.Clone(real)
		for i, x := range patch {
			sig[(int(at)+i)%len(sig)] ^= x
		}
		if size != 0 {
			n := int(size) % (len(real) + 65)
			if n <= len(sig) {
				sig = sig[:n]
			} else {
				sig = append(sig, make([]byte, n-len(sig))...)
			}
		}
		if k.Public().Verify(m, c, sig) {
			if !bytes.Equal(m, msg) || !bytes.Equal(c, ctx) || !bytes.Equal(sig, real) {
				t.Fatalf("a signature that was never made verifies")
			}
		}
	})
}
