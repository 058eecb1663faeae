package wire

import (
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
)

// Sealed keys: a mint's keys travel, and rest in the gateway's order
// record, encrypted to the shop's X25519 public key (the static key its
// Noise KK session authenticates), so that only the shop can read them.
// The gateway seals them once when it mints, keeps the sealed bytes and
// forgets the keys; a retry of the order gets the same sealed bytes.
//
// Encoding (part of the wire format and of the gateway's order records):
//
//	 0          1                33                             33+n×30+16
//	+----------+-----------------+------------------------------------------+
//	| seal (1) |   enc (32)      | ciphertext: n × license key (30), tag 16 |
//	+----------+-----------------+------------------------------------------+
//
// seal is SealHPKEX25519: HPKE (RFC 9180), base mode, with
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20Poly1305 (suite
// 0x0020, 0x0001, 0x0003); enc is the encapsulated key; the plaintext is
// the keys in canonical form back to back. The HPKE info is
// SealLabel, a zero byte, and the order's canonical bytes
// (MintRequest.AppendOrder): sealed keys open only as the answer to the
// very order they were minted for. (The shop's public key is bound by the
// KEM itself.)
const (
	SealHPKEX25519 = 0x01
	SealEncSize    = 32 // X25519 encapsulated key
	SealTagSize    = 16 // ChaCha20Poly1305 tag
	SealLabel      = "tollgate mint keys v1"
)

// SealedKeysLen returns the size of n keys sealed: the seal byte, the
// encapsulated key, the keys and the tag.
func SealedKeysLen(n int) int { return 1 + SealEncSize + n*KeySize + SealTagSize }

func sealInfo(order []byte) []byte {
	info := make([]byte, 0, len(SealLabel)+1+len(order))
	info = append(info, SealLabel...)
	info = append(info, 0)
	return append(info, order...)
}

// SealKeys seals keys (1 to MaxMintCount license keys in canonical form,
// back to back) to the shop's X25519 public key shopPub for the order
// whose canonical bytes are order. The result is SealedKeysLen(n) bytes.
func SealKeys(shopPub [SealEncSize]byte, order, keys []byte) ([]byte, error) {
	n := len(keys) / KeySize
	if len(keys)%KeySize != 0 || n < 1 || n > MaxMintCount {
		return nil, fmt.Errorf("%w: %d key bytes to seal", ErrInvalidField, len(keys))
	}
	pub, err := ecdh.X25519().NewPublicKey(shopPub[:])
	if err != nil {
		return nil, fmt.Errorf("%w: shop public key: %w", ErrInvalidField, err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: shop public key: %w", ErrInvalidField, err)
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), sealInfo(order), keys)
	if err != nil {
		// Only a low-order public key gets here: X25519 gives all zeros.
		return nil, fmt.Errorf("%w: sealing to the shop's key: %w", ErrInvalidField, err)
	}
	out := make([]byte, 0, 1+len(ct))
	return append(append(out, SealHPKEX25519), ct...), nil
}

// OpenKeys opens sealed keys (SealKeys) with the shop's X25519 private key
// shopPriv, for the order whose canonical bytes are order, and returns the
// keys in canonical form back to back, in a new slice the caller should
// clear once done. Anything but sealed keys of this order to this key is
// ErrInvalidField, and nil is returned.
func OpenKeys(shopPriv [SealEncSize]byte, order, sealed []byte) ([]byte, error) {
	if err := checkSealed(sealed); err != nil {
		return nil, err
	}
	priv, err := ecdh.X25519().NewPrivateKey(shopPriv[:])
	if err != nil {
		return nil, fmt.Errorf("%w: shop private key", ErrInvalidField)
	}
	sk, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: shop private key", ErrInvalidField)
	}
	keys, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), sealInfo(order), sealed[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed keys do not open with this key for this order", ErrInvalidField)
	}
	if err := checkKeyChars("sealed keys", keys); err != nil {
		clear(keys)
		return nil, err
	}
	return keys, nil
}

// checkSealed checks the layout of sealed keys: the seal byte and a length
// of SealedKeysLen(n) for n in 1..MaxMintCount.
func checkSealed(sealed []byte) error {
	n := len(sealed) - SealedKeysLen(0)
	if n < KeySize || n%KeySize != 0 || n/KeySize > MaxMintCount {
		return fmt.Errorf("%w: %d bytes of sealed keys", ErrInvalidField, len(sealed))
	}
	if sealed[0] != SealHPKEX25519 {
		return fmt.Errorf("%w: seal %#02x is not HPKE X25519", ErrInvalidField, sealed[0])
	}
	return nil
}
