// Package composite implements the hybrid signature Tollgate signs leases
// with: composite ML-DSA + Ed25519 as specified by
// draft-ietf-lamps-pq-composite-sigs (id-MLDSA44-Ed25519-SHA512 and
// id-MLDSA65-Ed25519-SHA512). A signature is accepted only when both the
// post-quantum half (pure ML-DSA, FIPS 204) and the classical half (Ed25519)
// verify, so a lease stays unforgeable as long as either algorithm holds.
//
// For a message M and a context ctx of at most 255 bytes, both halves sign
// the message representative
//
//	M' = Prefix || Label || len(ctx) || ctx || SHA-512(M)
//
// where Prefix is the 32 ASCII bytes "CompositeAlgorithmSignatures2025" and
// Label names the combination ("COMPSIG-MLDSA44-Ed25519-SHA512"). ML-DSA
// signs M' with Label as its own FIPS 204 context; Ed25519 signs M' as is.
// The signature is the ML-DSA signature followed by the Ed25519 signature.
//
// This package must never print, log or put into an error any private key
// material, and Verify must never panic whatever its input.
package composite

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Scheme names a composite algorithm. The numeric values are part of the
// lease wire format (a lease carries the scheme of its signature): never
// renumber one, only add.
type Scheme int

// Schemes.
const (
	MLDSA44Ed25519 Scheme = 1 // id-MLDSA44-Ed25519-SHA512
	MLDSA65Ed25519 Scheme = 2 // id-MLDSA65-Ed25519-SHA512
)

// Sizes fixed by the draft.
const (
	// PrivateKeySize is the size of an encoded private key: the 32-byte
	// ML-DSA seed followed by the 32-byte Ed25519 seed.
	PrivateKeySize = mldsaSeedSize + ed25519.SeedSize
	// MaxContextSize is the longest context Sign and Verify accept.
	MaxContextSize = 255
	// IDSize is the size of a public key's ID.
	IDSize = 8

	mldsaSeedSize = mldsa44.SeedSize
	// prefix opens every message representative.
	prefix = "CompositeAlgorithmSignatures2025"
	// labelSize is the length of both labels below; reprBuf is sized on it.
	labelSize = len("COMPSIG-MLDSA44-Ed25519-SHA512")
	// maxReprSize bounds a message representative M'.
	maxReprSize = len(prefix) + labelSize + 1 + MaxContextSize + sha512.Size
)

type schemeInfo struct {
	name         string // the draft's name without "id-"
	label        []byte // the draft's Label, also the ML-DSA context
	mldsaPubSize int
	mldsaSigSize int
}

var schemes = [...]schemeInfo{
	MLDSA44Ed25519: {"MLDSA44-Ed25519-SHA512", []byte("COMPSIG-MLDSA44-Ed25519-SHA512"), mldsa44.PublicKeySize, mldsa44.SignatureSize},
	MLDSA65Ed25519: {"MLDSA65-Ed25519-SHA512", []byte("COMPSIG-MLDSA65-Ed25519-SHA512"), mldsa65.PublicKeySize, mldsa65.SignatureSize},
}

func (s Scheme) info() (*schemeInfo, bool) {
	if s <= 0 || int(s) >= len(schemes) {
		return nil, false
	}
	return &schemes[s], true
}

// Known reports whether s is a scheme this package implements.
func (s Scheme) Known() bool {
	_, ok := s.info()
	return ok
}

// String returns the draft's name for s without its "id-" prefix, such as
// "MLDSA44-Ed25519-SHA512".
func (s Scheme) String() string {
	if in, ok := s.info(); ok {
		return in.name
	}
	return "composite.Scheme(" + strconv.Itoa(int(s)) + ")"
}

// SignatureSize returns the size of a signature under s (2484 or 3373), or
// 0 for an unknown scheme.
func (s Scheme) SignatureSize() int {
	if in, ok := s.info(); ok {
		return in.mldsaSigSize + ed25519.SignatureSize
	}
	return 0
}

// PublicKeySize returns the size of an encoded public key under s (1344 or
// 1984), or 0 for an unknown scheme.
func (s Scheme) PublicKeySize() int {
	if in, ok := s.info(); ok {
		return in.mldsaPubSize + ed25519.PublicKeySize
	}
	return 0
}

// representative writes M' for msg and ctx into buf and returns it. ctx must
// be at most MaxContextSize bytes.
func (in *schemeInfo) representative(buf *[maxReprSize]byte, msg, ctx []byte) []byte {
	h := sha512.Sum512(msg)
	m := append(buf[:0], prefix...)
	m = append(m, in.label...)
	m = append(m, byte(len(ctx)))
	m = append(m, ctx...)
	return append(m, h[:]...)
}

// PublicKey is a composite public key. It is immutable and safe for
// concurrent use. The zero value verifies nothing.
type PublicKey struct {
	scheme Scheme
	raw    []byte            // ML-DSA public key || Ed25519 public key
	ed     ed25519.PublicKey // the tail of raw
	pk44   *mldsa44.PublicKey
	pk65   *mldsa65.PublicKey
	id     [IDSize]byte
}

// ParsePublicKey decodes a public key of scheme s: the ML-DSA public key
// followed by the 32-byte Ed25519 public key. raw is copied. Every byte
// string of the right length decodes (neither encoding has a redundant
// form), so Bytes gives raw back; a key whose Ed25519 half is not a valid
// point simply verifies nothing.
func ParsePublicKey(s Scheme, raw []byte) (*PublicKey, error) {
	in, ok := s.info()
	if !ok {
		return nil, ErrUnknownScheme
	}
	if len(raw) != s.PublicKeySize() {
		return nil, fmt.Errorf("%w: %s needs %d bytes, got %d", ErrPublicKeySize, s, s.PublicKeySize(), len(raw))
	}
	k := &PublicKey{scheme: s, raw: append([]byte(nil), raw...)}
	ml := k.raw[:in.mldsaPubSize]
	switch s {
	case MLDSA44Ed25519:
		k.pk44 = new(mldsa44.PublicKey)
		k.pk44.Unpack((*[mldsa44.PublicKeySize]byte)(ml))
	case MLDSA65Ed25519:
		k.pk65 = new(mldsa65.PublicKey)
		k.pk65.Unpack((*[mldsa65.PublicKeySize]byte)(ml))
	}
	k.finish()
	return k, nil
}

// finish sets the fields derived from scheme and raw.
func (k *PublicKey) finish() {
	in := &schemes[k.scheme]
	k.ed = ed25519.PublicKey(k.raw[in.mldsaPubSize:])
	h := sha256.New()
	h.Write([]byte{byte(k.scheme)})
	h.Write(k.raw)
	var sum [sha256.Size]byte
	copy(k.id[:], h.Sum(sum[:0]))
}

// Scheme returns the key's scheme, 0 for a nil or zero key.
func (k *PublicKey) Scheme() Scheme {
	if k == nil {
		return 0
	}
	return k.scheme
}

// Bytes returns a copy of the encoded key: ML-DSA public key || Ed25519
// public key.
func (k *PublicKey) Bytes() []byte {
	if k == nil {
		return nil
	}
	return append([]byte(nil), k.raw...)
}

// ID returns the first 8 bytes of SHA-256(scheme byte || Bytes()). A lease
// names the key that signed it by this ID, so a client holding several
// keys (during a rotation) knows which to try.
func (k *PublicKey) ID() [IDSize]byte {
	if k == nil {
		return [IDSize]byte{}
	}
	return k.id
}

// Equal reports whether k and o are the same scheme and key. Two nil keys
// are equal.
func (k *PublicKey) Equal(o *PublicKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return k.scheme == o.scheme && subtle.ConstantTimeCompare(k.raw, o.raw) == 1
}

// String returns the scheme and ID, such as
// "composite:MLDSA44-Ed25519-SHA512:0123456789abcdef".
func (k *PublicKey) String() string {
	if k == nil {
		return "composite:<nil>"
	}
	return "composite:" + k.scheme.String() + ":" + hex.EncodeToString(k.id[:])
}

// Verify reports whether sig is a valid composite signature by k over msg
// with context ctx: both the ML-DSA and the Ed25519 half must verify. It
// returns false, never panics, for a nil or zero key, a context longer than
// MaxContextSize, or a signature of the wrong size.
func (k *PublicKey) Verify(msg, ctx, sig []byte) bool {
	if k == nil || len(ctx) > MaxContextSize {
		return false
	}
	in, ok := k.scheme.info()
	if !ok || len(sig) != k.scheme.SignatureSize() || len(k.ed) != ed25519.PublicKeySize {
		return false
	}
	var buf [maxReprSize]byte
	m := in.representative(&buf, msg, ctx)
	mlSig, edSig := sig[:in.mldsaSigSize], sig[in.mldsaSigSize:]
	// ML-DSA first: it is the cheaper of the two to verify.
	switch k.scheme {
	case MLDSA44Ed25519:
		ok = k.pk44 != nil && mldsa44.Verify(k.pk44, m, in.label, mlSig)
	case MLDSA65Ed25519:
		ok = k.pk65 != nil && mldsa65.Verify(k.pk65, m, in.label, mlSig)
	default:
		ok = false
	}
	return ok && ed25519.Verify(k.ed, m, edSig)
}

// PrivateKey is a composite private key. It is immutable and safe for
// concurrent use. Its String and GoString methods print only the scheme and
// the public key ID, never key material.
type PrivateKey struct {
	seed [PrivateKeySize]byte // ML-DSA seed || Ed25519 seed
	sk44 *mldsa44.PrivateKey
	sk65 *mldsa65.PrivateKey
	ed   ed25519.PrivateKey
	pub  *PublicKey
}

// GenerateKey creates a private key of scheme s from PrivateKeySize bytes
// read from random, which must be a cryptographically secure source; nil
// means crypto/rand.Reader. The key is a function of those bytes only, so a
// fixed reader gives a fixed key (for tests).
func GenerateKey(s Scheme, random io.Reader) (*PrivateKey, error) {
	if !s.Known() {
		return nil, ErrUnknownScheme
	}
	if random == nil {
		random = rand.Reader
	}
	var seed [PrivateKeySize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(random, seed[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRandom, err)
	}
	return ParsePrivateKey(s, seed[:])
}

// ParsePrivateKey decodes a private key of scheme s: the 32-byte ML-DSA
// seed followed by the 32-byte Ed25519 seed (the draft's private key
// encoding). Both keys are expanded from their seeds. raw is copied.
func ParsePrivateKey(s Scheme, raw []byte) (*PrivateKey, error) {
	if !s.Known() {
		return nil, ErrUnknownScheme
	}
	if len(raw) != PrivateKeySize {
		return nil, fmt.Errorf("%w: need %d bytes, got %d", ErrPrivateKeySize, PrivateKeySize, len(raw))
	}
	k := &PrivateKey{}
	copy(k.seed[:], raw)
	pub := &PublicKey{scheme: s, raw: make([]byte, 0, s.PublicKeySize())}
	mlSeed := (*[mldsaSeedSize]byte)(k.seed[:mldsaSeedSize])
	switch s {
	case MLDSA44Ed25519:
		pub.pk44, k.sk44 = mldsa44.NewKeyFromSeed(mlSeed)
		var b [mldsa44.PublicKeySize]byte
		pub.pk44.Pack(&b)
		pub.raw = append(pub.raw, b[:]...)
	case MLDSA65Ed25519:
		pub.pk65, k.sk65 = mldsa65.NewKeyFromSeed(mlSeed)
		var b [mldsa65.PublicKeySize]byte
		pub.pk65.Pack(&b)
		pub.raw = append(pub.raw, b[:]...)
	}
	k.ed = ed25519.NewKeyFromSeed(k.seed[mldsaSeedSize:])
	pub.raw = append(pub.raw, k.ed[ed25519.SeedSize:]...)
	pub.finish()
	k.pub = pub
	return k, nil
}

// Public returns the matching public key. It is shared, not copied: public
// keys are immutable.
func (k *PrivateKey) Public() *PublicKey {
	if k == nil {
		return nil
	}
	return k.pub
}

// Scheme returns the key's scheme, 0 for a nil or zero key.
func (k *PrivateKey) Scheme() Scheme { return k.Public().Scheme() }

// Bytes returns a copy of the encoded key: ML-DSA seed || Ed25519 seed.
// Whoever calls it holds a secret: write it with mode 0600 and never log it.
func (k *PrivateKey) Bytes() []byte {
	if k == nil || k.pub == nil {
		return nil
	}
	return append([]byte(nil), k.seed[:]...)
}

// Sign returns the composite signature of msg under context ctx, which may
// be at most MaxContextSize bytes: SignatureSize bytes, the ML-DSA half then
// the Ed25519 half.
//
// ML-DSA signs in its deterministic variant (FIPS 204, rnd = 0): the
// signature is a function of key, message and context alone, like
// Ed25519's. That keeps golden test vectors exact, makes re-signing the same
// lease idempotent and needs no randomness on the signing server. The
// hedged variant's extra protection is against fault injection and power
// analysis on the signer, which the gateway's threat model (a server in a
// data centre) does not include.
func (k *PrivateKey) Sign(msg, ctx []byte) ([]byte, error) {
	if k == nil || k.pub == nil {
		return nil, ErrNilKey
	}
	if len(ctx) > MaxContextSize {
		return nil, ErrContextTooLong
	}
	in, _ := k.pub.scheme.info()
	var buf [maxReprSize]byte
	m := in.representative(&buf, msg, ctx)
	sig := make([]byte, k.pub.scheme.SignatureSize())
	var err error
	switch k.pub.scheme {
	case MLDSA44Ed25519:
		err = mldsa44.SignTo(k.sk44, m, in.label, false, sig[:in.mldsaSigSize])
	case MLDSA65Ed25519:
		err = mldsa65.SignTo(k.sk65, m, in.label, false, sig[:in.mldsaSigSize])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrComponentSigner, err)
	}
	copy(sig[in.mldsaSigSize:], ed25519.Sign(k.ed, m))
	return sig, nil
}

// String returns "composite.PrivateKey(<scheme>, id <public key ID>)".
// It never prints key material.
func (k PrivateKey) String() string {
	if k.pub == nil {
		return "composite.PrivateKey(<zero>)"
	}
	return "composite.PrivateKey(" + k.pub.scheme.String() + ", id " + hex.EncodeToString(k.pub.id[:]) + ")"
}

// GoString is String, so %#v does not print key material either.
func (k PrivateKey) GoString() string { return k.String() }

// Format prints String whatever the verb, so no verb (%x, %d, %+v) reaches
// the key's fields through reflection.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }
