package channel

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"io"

	"github.com/flynn/noise"
)

// x25519 is the handshake's X25519 with half the scalar multiplications of
// noise.DH25519. That one goes through curve25519.X25519, which makes a
// crypto/ecdh private key for every call, and making one computes its
// public key: each Diffie-Hellman costs two multiplications, and
// GenerateKeypair two more where one would do. x25519 keeps the ecdh keys
// of the static key it was made with and of the ephemeral key it generates,
// so every operation of a handshake is one multiplication: five for either
// side of IK instead of ten (BENCHMARKS.md, handshake).
//
// It holds private keys, so each handshake makes its own (newSuite) and
// drops it with the handshake state.
type x25519 struct {
	static, eph heldKey
}

type heldKey struct {
	raw [KeySize]byte
	key *ecdh.PrivateKey
}

func (h *heldKey) match(priv []byte) *ecdh.PrivateKey {
	if h.key != nil && subtle.ConstantTimeCompare(h.raw[:], priv) == 1 {
		return h.key
	}
	return nil
}

func (d *x25519) GenerateKeypair(rng io.Reader) (noise.DHKey, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var raw [KeySize]byte
	if _, err := io.ReadFull(rng, raw[:]); err != nil {
		return noise.DHKey{}, err
	}
	k, err := ecdh.X25519().NewPrivateKey(raw[:])
	if err != nil {
		return noise.DHKey{}, err
	}
	d.eph = heldKey{raw: raw, key: k}
	return noise.DHKey{Private: raw[:], Public: k.PublicKey().Bytes()}, nil
}

func (d *x25519) DH(priv, pub []byte) ([]byte, error) {
	k := d.static.match(priv)
	if k == nil {
		k = d.eph.match(priv)
	}
	if k == nil {
		var err error
		if k, err = ecdh.X25519().NewPrivateKey(priv); err != nil {
			return nil, err
		}
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	// ECDH refuses a low-order point (an all-zero secret), as
	// curve25519.X25519 does.
	return k.ECDH(p)
}

func (d *x25519) DHLen() int     { return KeySize }
func (d *x25519) DHName() string { return "25519" }

// newSuite returns the cipher suite of one handshake whose static key is
// s: X25519, ChaChaPoly and BLAKE2s, with the protocol names ProtocolIK and
// ProtocolKK (TestProtocolNames).
func newSuite(s *staticPair) noise.CipherSuite {
	d := &x25519{static: heldKey{raw: s.priv, key: s.key}}
	return noise.NewCipherSuite(d, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}
