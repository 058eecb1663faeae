package channel

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/flynn/noise"
)

// x25519DH is the handshake's X25519 (RFC 7748), in place of
// noise.DH25519, and cheaper in three ways (BENCHMARKS.md, handshake):
//
//   - It is circl's dh/x25519, whose field arithmetic uses the CPU's
//     MULX and ADX instructions where it has them (crypto/ecdh's does not):
//     about 0.6 of the time per scalar multiplication on the benchmark
//     machine.
//   - Every operation is one scalar multiplication. noise.DH25519 goes
//     through curve25519.X25519, which makes a crypto/ecdh private key for
//     every call, and making one computes its public key: two
//     multiplications per Diffie-Hellman, and two for each key generated.
//   - The static-static secret (ss) with a peer whose static key is known
//     before the handshake (an initiator's, and a KK responder's) is
//     computed once per pair of static keys and kept with the local static
//     key (staticPair.ss): an app that reconnects to its gateway computes
//     it once, not at every session. It is a function of the local static
//     private key, which the process holds anyway.
//
// It refuses a low-order public key (an all-zero shared secret) as
// curve25519.X25519 does (TestX25519MatchesNoise).
type x25519DH struct {
	static *staticPair // the handshake's local static key
	peer   PublicKey   // the remote static key known in advance; zero if none
}

// errLowOrder refuses a Diffie-Hellman with a low-order point, whose shared
// secret would be all zeros whatever the private key.
var errLowOrder = errors.New("channel: X25519 with a low-order point")

func (d *x25519DH) GenerateKeypair(rng io.Reader) (noise.DHKey, error) {
	if rng == nil {
		rng = rand.Reader
	}
	priv, pub := new(x25519.Key), new(x25519.Key)
	if _, err := io.ReadFull(rng, priv[:]); err != nil {
		return noise.DHKey{}, err
	}
	x25519.KeyGen(pub, priv)
	return noise.DHKey{Private: priv[:], Public: pub[:]}, nil
}

func (d *x25519DH) DH(priv, pub []byte) ([]byte, error) {
	if len(priv) != KeySize || len(pub) != KeySize {
		return nil, fmt.Errorf("channel: X25519 keys of %d and %d bytes", len(priv), len(pub))
	}
	s := d.static
	if s == nil || d.peer.IsZero() || subtle.ConstantTimeCompare(pub, d.peer[:]) != 1 || subtle.ConstantTimeCompare(priv, s.priv[:]) != 1 {
		return sharedSecret(priv, pub)
	}
	if c := s.ss.Load(); c != nil && c.peer == d.peer {
		out := c.secret
		return out[:], nil
	}
	out, err := sharedSecret(priv, pub)
	if err != nil {
		return nil, err
	}
	s.ss.Store(&staticShared{peer: d.peer, secret: [KeySize]byte(out)})
	return out, nil
}

// sharedSecret is X25519(priv, pub), refusing a low-order pub. priv and pub
// are KeySize bytes.
func sharedSecret(priv, pub []byte) ([]byte, error) {
	out := new(x25519.Key)
	if !x25519.Shared(out, (*x25519.Key)(priv), (*x25519.Key)(pub)) {
		return nil, errLowOrder
	}
	return out[:], nil
}

func (d *x25519DH) DHLen() int     { return KeySize }
func (d *x25519DH) DHName() string { return "25519" }

// staticShared is the static-static secret of a static key with peer.
type staticShared struct {
	peer   PublicKey
	secret [KeySize]byte
}

// newSuite returns the cipher suite of one handshake whose static key is
// s and whose peer's static key, if known in advance, is peer (else zero):
// X25519, ChaChaPoly and BLAKE2s, with the protocol names ProtocolIK and
// ProtocolKK (TestProtocolNames).
func newSuite(s *staticPair, peer PublicKey) noise.CipherSuite {
	return noise.NewCipherSuite(&x25519DH{static: s, peer: peer}, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}
