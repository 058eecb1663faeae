package keygen

import "errors"

// Parse errors. ParseCanonical returns exactly these; ParseKey wraps
// ErrLength and ErrCharacter with %w to say how long the input was or where
// the bad character is. No error from this package ever contains any part of
// a key.
var (
	ErrLength    = errors.New("keygen: wrong key length")
	ErrCharacter = errors.New("keygen: invalid character")
	ErrCheck     = errors.New("keygen: check character does not match (mistyped key?)")
)

// Other errors.
var (
	ErrProductCode = errors.New("keygen: invalid product code")
	ErrRandom      = errors.New("keygen: reading randomness failed")
	ErrBatchSize   = errors.New("keygen: batch size out of range")
	ErrSecret      = errors.New("keygen: hash secret shorter than 32 bytes")
	ErrMarshal     = errors.New("keygen: a license key is never marshalled implicitly; use Display")
)
