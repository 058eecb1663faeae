package composite

import "errors"

// Errors returned by this package. None of them ever carries key material.
var (
	ErrUnknownScheme   = errors.New("composite: unknown signature scheme")
	ErrPrivateKeySize  = errors.New("composite: wrong private key size")
	ErrPublicKeySize   = errors.New("composite: wrong public key size")
	ErrContextTooLong  = errors.New("composite: context longer than 255 bytes")
	ErrNilKey          = errors.New("composite: nil or zero key")
	ErrRandom          = errors.New("composite: cannot read randomness")
	ErrComponentSigner = errors.New("composite: ML-DSA signing failed")
)
