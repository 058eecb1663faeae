package composite

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var allSchemes = []Scheme{MLDSA44Ed25519, MLDSA65Ed25519}

// testKey returns a fixed key of scheme s, derived from name.
func testKey(t testing.TB, s Scheme, name string) *PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte(name))
	seed2 := sha256.Sum256(seed[:])
	k, err := GenerateKey(s, bytes.NewReader(append(seed[:], seed2[:]...)))
	if err != nil {
		t.Fatalf("GenerateKey(%v): %v", s, err)
	}
	return k
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		s           Scheme
		sig, pub    int
		name, label string
	}{
		{MLDSA44Ed25519, 2484, 1312 + 32, "MLDSA44-Ed25519-SHA512", "COMPSIG-MLDSA44-Ed25519-SHA512"},
		{MLDSA65Ed25519, 3373, 1952 + 32, "MLDSA65-Ed25519-SHA512", "COMPSIG-MLDSA65-Ed25519-SHA512"},
	} {
		if got := tc.s.SignatureSize(); got != tc.sig {
			t.Errorf("%v.SignatureSize() = %d, want %d", tc.s, got, tc.sig)
		}
		if got := tc.s.PublicKeySize(); got != tc.pub {
			t.Errorf("%v.PublicKeySize() = %d, want %d", tc.s, got, tc.pub)
		}
		if got := tc.s.String(); got != tc.name {
			t.Errorf("String() = %q, want %q", got, tc.name)
		}
		in, _ := tc.s.info()
		if string(in.label) != tc.label || len(in.label) != labelSize {
			t.Errorf("%v label = %q, want %q of %d bytes", tc.s, in.label, tc.label, labelSize)
		}
		k := testKey(t, tc.s, "sizes")
		sig, err := k.Sign([]byte("m"), nil)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if len(sig) != tc.sig {
			t.Errorf("%v: len(Sign()) = %d, want %d", tc.s, len(sig), tc.sig)
		}
		if got := len(k.Public().Bytes()); got != tc.pub {
			t.Errorf("%v: len(Public().Bytes()) = %d, want %d", tc.s, got, tc.pub)
		}
		if got := len(k.Bytes()); got != PrivateKeySize {
			t.Errorf("%v: len(Bytes()) = %d, want %d", tc.s, got, PrivateKeySize)
		}
	}
	if len(prefix) != 32 {
		t.Errorf("prefix is %d bytes, want 32", len(prefix))
	}
	for _, s := range []Scheme{0, -1, 3, 1000} {
		if s.Known() || s.SignatureSize() != 0 || s.PublicKeySize() != 0 {
			t.Errorf("%v: Known %v, SignatureSize %d, PublicKeySize %d; want false, 0, 0",
				s, s.Known(), s.SignatureSize(), s.PublicKeySize())
		}
	}
	if got := Scheme(7).String(); got != "composite.Scheme(7)" {
		t.Errorf("Scheme(7).String() = %q", got)
	}
}

func TestRepresentative(t *testing.T) {
	// M' built by hand from the draft's definition.
	in, _ := MLDSA65Ed25519.info()
	msg, ctx := []byte("message"), []byte("ctx")
	h := sha512.Sum512(msg)
	want := []byte("CompositeAlgorithmSignatures2025COMPSIG-MLDSA65-Ed25519-SHA512\x03ctx")
	want = append(want, h[:]...)
	var buf [maxReprSize]byte
	if got := in.representative(&buf, msg, ctx); !bytes.Equal(got, want) {
		t.Fatalf("representative = %x, want %x", got, want)
	}
	long := bytes.Repeat([]byte{'c'}, MaxContextSize)
	if got := in.representative(&buf, msg, long); len(got) != maxReprSize {
		t.Fatalf("representative with a %d-byte context is %d bytes, want %d", len(long), len(got), maxReprSize)
	}
}

func TestSignVerify(t *testing.T) {
	for _, s := range allSchemes {
		t.Run(s.String(), func(t *testing.T) {
			k := testKey(t, s, "sign-verify")
			pub := k.Public()
			for _, ctx := range [][]byte{nil, {}, []byte("tollgate-lease-v1"), bytes.Repeat([]byte{0xff}, MaxContextSize)} {
				for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("lease"), 1000)} {
					sig, err := k.Sign(msg, ctx)
					if err != nil {
						t.Fatalf("Sign: %v", err)
					}
					if !pub.Verify(msg, ctx, sig) {
						t.Fatalf("Verify(len(msg)=%d, len(ctx)=%d) = false", len(msg), len(ctx))
					}
					again, _ := k.Sign(msg, ctx)
					if !bytes.Equal(sig, again) {
						t.Fatalf("two signatures of the same message differ: signing is not deterministic")
					}
				}
			}
		})
	}
}

// TestVerifyRejects alters a good signature, message or context in every
// way the brief lists; each must fail.
func TestVerifyRejects(t *testing.T) {
	msg, ctx := []byte("the lease bytes"), []byte("tollgate-lease-v1")
	keys := map[Scheme]*PrivateKey{}
	sigs := map[Scheme][]byte{}
	for _, s := range allSchemes {
		keys[s] = testKey(t, s, "rejects")
		sig, err := keys[s].Sign(msg, ctx)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		sigs[s] = sig
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	for _, s := range allSchemes {
		other := MLDSA65Ed25519
		if s == other {
			other = MLDSA44Ed25519
		}
		sig, pub := sigs[s], keys[s].Public()
		in, _ := s.info()
		otherKey := testKey(t, s, "another key")
		for _, tc := range []struct {
			name          string
			pub           *PublicKey
			msg, ctx, sig []byte
		}{
			{"ML-DSA half first byte", pub, msg, ctx, flip(sig, 0)},
			{"ML-DSA half middle byte", pub, msg, ctx, flip(sig, in.mldsaSigSize/2)},
			{"ML-DSA half last byte", pub, msg, ctx, flip(sig, in.mldsaSigSize-1)},
			{"Ed25519 half first byte", pub, msg, ctx, flip(sig, in.mldsaSigSize)},
			{"Ed25519 half R", pub, msg, ctx, flip(sig, in.mldsaSigSize+20)},
			{"Ed25519 half S", pub, msg, ctx, flip(sig, len(sig)-1)},
			{"truncated by one", pub, msg, ctx, sig[:len(sig)-1]},
			{"ML-DSA half only", pub, msg, ctx, sig[:in.mldsaSigSize]},
			{"empty", pub, msg, ctx, nil},
			{"extended by one", pub, msg, ctx, append(bytes.Clone(sig), 0)},
			{"signature of the other scheme", pub, msg, ctx, sigs[other]},
			{"verified by the other scheme", keys[other].Public(), msg, ctx, sig},
			{"another key", otherKey.Public(), msg, ctx, sig},
			{"other context", pub, msg, []byte("tollgate-lease-v2"), sig},
			{"empty context", pub, msg, nil, sig},
			{"context too long", pub, msg, bytes.Repeat([]byte{'c'}, MaxContextSize+1), sig},
			{"other message", pub, []byte("the lease bytez"), ctx, sig},
			{"empty message", pub, nil, ctx, sig},
			{"Ed25519 half of another key", pub, msg, ctx, spliceEd(sig, mustSign(t, otherKey, msg, ctx))},
			{"ML-DSA half of another key", pub, msg, ctx, spliceEd(mustSign(t, otherKey, msg, ctx), sig)},
			{"nil key", nil, msg, ctx, sig},
			{"zero key", &PublicKey{}, msg, ctx, sig},
		} {
			if tc.pub.Verify(tc.msg, tc.ctx, tc.sig) {
				t.Errorf("%v: %s: Verify = true, want false", s, tc.name)
			}
		}
		if !pub.Verify(msg, ctx, sig) {
			t.Errorf("%v: the unaltered signature does not verify", s)
		}
	}
}

// spliceEd returns a's ML-DSA half followed by b's Ed25519 half.
func spliceEd(a, b []byte) []byte {
	n := len(a) - 64
	return append(bytes.Clone(a[:n]), b[n:]...)
}

func mustSign(t testing.TB, k *PrivateKey, msg, ctx []byte) []byte {
	t.Helper()
	sig, err := k.Sign(msg, ctx)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}

func TestSignErrors(t *testing.T) {
	k := testKey(t, MLDSA44Ed25519, "sign-errors")
	if sig, err := k.Sign(nil, make([]byte, MaxContextSize+1)); !errors.Is(err, ErrContextTooLong) || sig != nil {
		t.Errorf("Sign with a 256-byte context = %d bytes, %v; want nil, ErrContextTooLong", len(sig), err)
	}
	var nilKey *PrivateKey
	if _, err := nilKey.Sign(nil, nil); !errors.Is(err, ErrNilKey) {
		t.Errorf("nil key Sign: %v, want ErrNilKey", err)
	}
	if _, err := (&PrivateKey{}).Sign(nil, nil); !errors.Is(err, ErrNilKey) {
		t.Errorf("zero key Sign: %v, want ErrNilKey", err)
	}
	if nilKey.Public() != nil || nilKey.Bytes() != nil || nilKey.Scheme() != 0 {
		t.Errorf("nil key: Public, Bytes, Scheme not nil/zero")
	}
}

func TestParse(t *testing.T) {
	for _, s := range allSchemes {
		k := testKey(t, s, "parse")
		k2, err := ParsePrivateKey(s, k.Bytes())
		if err != nil {
			t.Fatalf("ParsePrivateKey(%v): %v", s, err)
		}
		if !bytes.Equal(k2.Bytes(), k.Bytes()) || !k2.Public().Equal(k.Public()) {
			t.Fatalf("%v: private key round trip changed the key", s)
		}
		pub, err := ParsePublicKey(s, k.Public().Bytes())
		if err != nil {
			t.Fatalf("ParsePublicKey(%v): %v", s, err)
		}
		if !pub.Equal(k.Public()) || pub.ID() != k.Public().ID() || pub.Scheme() != s {
			t.Fatalf("%v: public key round trip changed the key", s)
		}
		sig := mustSign(t, k, []byte("m"), nil)
		if !pub.Verify([]byte("m"), nil, sig) {
			t.Fatalf("%v: parsed public key does not verify", s)
		}

		priv, raw := k.Bytes(), k.Public().Bytes()
		for _, tc := range []struct {
			name string
			s    Scheme
			raw  []byte
			want error
		}{
			{"empty", s, nil, ErrPrivateKeySize},
			{"short", s, priv[:PrivateKeySize-1], ErrPrivateKeySize},
			{"long", s, append(bytes.Clone(priv), 0), ErrPrivateKeySize},
			{"ML-DSA seed only", s, priv[:32], ErrPrivateKeySize},
			{"expanded ML-DSA key", s, make([]byte, 2560), ErrPrivateKeySize},
			{"scheme 0", 0, priv, ErrUnknownScheme},
			{"scheme 3", 3, priv, ErrUnknownScheme},
		} {
			if got, err := ParsePrivateKey(tc.s, tc.raw); !errors.Is(err, tc.want) || got != nil {
				t.Errorf("%v: ParsePrivateKey(%s) = %v, %v; want nil, %v", s, tc.name, got, err, tc.want)
			}
		}
		for _, tc := range []struct {
			name string
			s    Scheme
			raw  []byte
			want error
		}{
			{"empty", s, nil, ErrPublicKeySize},
			{"short", s, raw[:len(raw)-1], ErrPublicKeySize},
			{"long", s, append(bytes.Clone(raw), 0), ErrPublicKeySize},
			{"ML-DSA key only", s, raw[:len(raw)-32], ErrPublicKeySize},
			{"scheme 0", 0, raw, ErrUnknownScheme},
			{"scheme -1", -1, raw, ErrUnknownScheme},
		} {
			if got, err := ParsePublicKey(tc.s, tc.raw); !errors.Is(err, tc.want) || got != nil {
				t.Errorf("%v: ParsePublicKey(%s) = %v, %v; want nil, %v", s, tc.name, got, err, tc.want)
			}
		}
	}
	// A 44 key is not a 65 key: the sizes differ.
	raw44 := testKey(t, MLDSA44Ed25519, "parse").Public().Bytes()
	if _, err := ParsePublicKey(MLDSA65Ed25519, raw44); !errors.Is(err, ErrPublicKeySize) {
		t.Errorf("ParsePublicKey(65, 44 key) = %v, want ErrPublicKeySize", err)
	}
}

func TestIDAndEqual(t *testing.T) {
	a := testKey(t, MLDSA44Ed25519, "a").Public()
	b := testKey(t, MLDSA44Ed25519, "b").Public()
	want := sha256.Sum256(append([]byte{1}, a.Bytes()...))
	if id := a.ID(); !bytes.Equal(id[:], want[:IDSize]) {
		t.Errorf("ID = %x, want %x", id, want[:IDSize])
	}
	if a.ID() == b.ID() || a.Equal(b) || !a.Equal(a) {
		t.Errorf("two keys: IDs equal %v, Equal %v; one key Equal %v", a.ID() == b.ID(), a.Equal(b), a.Equal(a))
	}
	var nilKey *PublicKey
	if !nilKey.Equal(nil) || nilKey.Equal(a) || a.Equal(nil) || nilKey.ID() != [IDSize]byte{} || nilKey.Bytes() != nil {
		t.Errorf("nil public key handling is wrong")
	}
	if got, want := a.String(), "composite:MLDSA44-Ed25519-SHA512:"+hex.EncodeToString(want[:IDSize]); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestPrivateKeyNoLeak checks that no formatting verb prints key material.
func TestPrivateKeyNoLeak(t *testing.T) {
	k := testKey(t, MLDSA65Ed25519, "secret")
	seed := k.Bytes()
	var secrets []string
	for _, part := range [][]byte{seed[:32], seed[32:], k.ed} {
		secrets = append(secrets, hex.EncodeToString(part[:8]), strings.Trim(fmt.Sprint(part[:4]), "[]"), string(part[:8]))
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		for _, v := range []any{k, *k, []*PrivateKey{k}, struct{ K PrivateKey }{*k}} {
			out := fmt.Sprintf(f, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Fatalf("Sprintf(%q, %T) prints key material", f, v)
				}
			}
		}
	}
	if got := fmt.Sprint(k); !strings.HasPrefix(got, "composite.PrivateKey(MLDSA65-Ed25519-SHA512, id ") {
		t.Errorf("Sprint(k) = %q", got)
	}
}

func TestGenerateKey(t *testing.T) {
	if _, err := GenerateKey(MLDSA44Ed25519, bytes.NewReader(make([]byte, PrivateKeySize-1))); !errors.Is(err, ErrRandom) {
		t.Errorf("GenerateKey from a short reader: %v, want ErrRandom", err)
	}
	if _, err := GenerateKey(9, nil); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("GenerateKey(9): %v, want ErrUnknownScheme", err)
	}
	a, err := GenerateKey(MLDSA44Ed25519, nil)
	if err != nil {
		t.Fatalf("GenerateKey(nil reader): %v", err)
	}
	b, _ := GenerateKey(MLDSA44Ed25519, nil)
	if a.Public().Equal(b.Public()) {
		t.Errorf("two random keys are equal")
	}
	seed := bytes.Repeat([]byte{7}, PrivateKeySize)
	c, _ := GenerateKey(MLDSA65Ed25519, bytes.NewReader(seed))
	if !bytes.Equal(c.Bytes(), seed) {
		t.Errorf("GenerateKey does not use the reader's bytes as the seed")
	}
}

// vectors is the shape of the draft's test vector file, reduced to the
// Ed25519 combinations.
type vectors struct {
	M     string `json:"m"`
	Ctx   string `json:"ctx"`
	Tests []struct {
		TcID         string `json:"tcId"`
		PK           string `json:"pk"`
		SK           string `json:"sk"`
		S            string `json:"s"`
		SWithContext string `json:"sWithContext"`
	} `json:"tests"`
}

// loadVectors reads testdata/vectors.json: the public test vectors of
// draft-ietf-lamps-pq-composite-sigs (testdata/README.md names their
// source).
func loadVectors(t *testing.T) *vectors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	return &v
}

func TestConformance(t *testing.T) {
	v := loadVectors(t)
	b64 := func(s string) []byte {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("vector base64: %v", err)
		}
		return b
	}
	msg, ctx := b64(v.M), b64(v.Ctx)
	if len(ctx) == 0 {
		t.Fatalf("vector file has an empty ctx")
	}
	ids := map[string]Scheme{"id-MLDSA44-Ed25519-SHA512": MLDSA44Ed25519, "id-MLDSA65-Ed25519-SHA512": MLDSA65Ed25519}
	seen := map[Scheme]bool{}
	for _, tc := range v.Tests {
		s, ok := ids[tc.TcID]
		if !ok {
			continue
		}
		seen[s] = true
		t.Run(tc.TcID, func(t *testing.T) {
			pub, err := ParsePublicKey(s, b64(tc.PK))
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			if !pub.Verify(msg, nil, b64(tc.S)) {
				t.Errorf("s does not verify with an empty context")
			}
			if !pub.Verify(msg, ctx, b64(tc.SWithContext)) {
				t.Errorf("sWithContext does not verify with ctx")
			}
			if pub.Verify(msg, ctx, b64(tc.S)) || pub.Verify(msg, nil, b64(tc.SWithContext)) {
				t.Errorf("a vector signature verifies under the wrong context")
			}
			priv, err := ParsePrivateKey(s, b64(tc.SK))
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			if !priv.Public().Equal(pub) || !bytes.Equal(priv.Public().Bytes(), b64(tc.PK)) {
				t.Errorf("the public key derived from sk differs from pk")
			}
			for _, c := range [][]byte{nil, ctx} {
				if sig := mustSign(t, priv, msg, c); !pub.Verify(msg, c, sig) {
					t.Errorf("our signature (len(ctx)=%d) does not verify under the vector pk", len(c))
				}
			}
		})
	}
	for _, s := range allSchemes {
		if !seen[s] {
			t.Errorf("no vector for %v", s)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	for _, s := range allSchemes {
		b.Run(s.String(), func(b *testing.B) {
			k := testKey(b, s, "bench")
			msg := make([]byte, 256)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(msg, []byte("tollgate-lease-v1")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, s := range allSchemes {
		b.Run(s.String(), func(b *testing.B) {
			k := testKey(b, s, "bench")
			msg, ctx := make([]byte, 256), []byte("tollgate-lease-v1")
			sig, _ := k.Sign(msg, ctx)
			pub := k.Public()
			b.ReportAllocs()
			for b.Loop() {
				if !pub.Verify(msg, ctx, sig) {
					b.Fatal("Verify = false")
				}
			}
		})
	}
}
