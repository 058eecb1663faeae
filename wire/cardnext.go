package wire

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// The card fields that announce the gateway's next transport identity, a
// release ahead of its switch (`tollgate keys announce-transport`). Part of
// the card format:
//
//	next-noise-key <base64 of the next 32-byte X25519 static public key>
//	next-tls-pin sha256/<base64 of SHA-256 of the next certificate's SubjectPublicKeyInfo>
//
// Each occurs once at most, and differs from its current field. A client
// accepts a gateway whose Noise static key is NoiseKey or NextNoiseKey and
// whose certificate matches TLSPin or NextTLSPin, so an app shipped with
// this card keeps working across the gateway's switch. A client built
// before these fields refuses a card that has them (ErrCardField): a
// publisher ships such a card only with clients of this version or later.
// A card without them is byte for byte the card before them.
const (
	nextNoiseField = "next-noise-key"
	nextPinField   = "next-tls-pin"
)

// HasNextNoiseKey reports whether the card announces a next Noise key.
func (c *Card) HasNextNoiseKey() bool { return c.NextNoiseKey != [NoiseKeySize]byte{} }

// HasNextTLSPin reports whether the card announces a next TLS pin.
func (c *Card) HasNextTLSPin() bool { return c.NextTLSPin != [TLSPinSize]byte{} }

// NoiseKeys returns the Noise static keys the card accepts, NoiseKey
// first.
func (c *Card) NoiseKeys() [][NoiseKeySize]byte {
	if c.HasNextNoiseKey() {
		return [][NoiseKeySize]byte{c.NoiseKey, c.NextNoiseKey}
	}
	return [][NoiseKeySize]byte{c.NoiseKey}
}

// TLSPins returns the TLS pins the card accepts, TLSPin first.
func (c *Card) TLSPins() [][TLSPinSize]byte {
	if c.HasNextTLSPin() {
		return [][TLSPinSize]byte{c.TLSPin, c.NextTLSPin}
	}
	return [][TLSPinSize]byte{c.TLSPin}
}

// parseNextLine parses a next-noise-key or next-tls-pin line into c.
func (c *Card) parseNextLine(f []string) error {
	if len(f) != 2 {
		return fmt.Errorf("%w: %s takes 1 value, got %d", ErrCardSyntax, f[0], len(f)-1)
	}
	switch f[0] {
	case nextNoiseField:
		if c.HasNextNoiseKey() {
			return fmt.Errorf("%w: %s", ErrCardRepeated, f[0])
		}
		var k [NoiseKeySize]byte
		if err := decodeFixed(k[:], f[1]); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCardValue, f[0], err)
		}
		if k == ([NoiseKeySize]byte{}) {
			return fmt.Errorf("%w: %s: an all-zero key", ErrCardValue, f[0])
		}
		c.NextNoiseKey = k
	default:
		if c.HasNextTLSPin() {
			return fmt.Errorf("%w: %s", ErrCardRepeated, f[0])
		}
		v, ok := strings.CutPrefix(f[1], pinPrefix)
		if !ok {
			return fmt.Errorf("%w: %s must start with %q", ErrCardValue, f[0], pinPrefix)
		}
		var p [TLSPinSize]byte
		if err := decodeFixed(p[:], v); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCardValue, f[0], err)
		}
		if p == ([TLSPinSize]byte{}) {
			return fmt.Errorf("%w: %s: an all-zero pin", ErrCardValue, f[0])
		}
		c.NextTLSPin = p
	}
	return nil
}

// checkNext refuses a next key or pin equal to the current one: an
// announcement of nothing is an operator's mistake.
func (c *Card) checkNext() error {
	if c.HasNextNoiseKey() && c.NextNoiseKey == c.NoiseKey {
		return fmt.Errorf("%w: %s is the card's noise-key", ErrCardValue, nextNoiseField)
	}
	if c.HasNextTLSPin() && c.NextTLSPin == c.TLSPin {
		return fmt.Errorf("%w: %s is the card's tls-pin", ErrCardValue, nextPinField)
	}
	return nil
}

// appendNext appends the card's next-noise-key and next-tls-pin lines,
// when it has them.
func (c *Card) appendNext(b []byte) []byte {
	enc := base64.StdEncoding
	if c.HasNextNoiseKey() {
		b = append(b, nextNoiseField+" "...)
		b = enc.AppendEncode(b, c.NextNoiseKey[:])
		b = append(b, '\n')
	}
	if c.HasNextTLSPin() {
		b = append(b, nextPinField+" "+pinPrefix...)
		b = enc.AppendEncode(b, c.NextTLSPin[:])
		b = append(b, '\n')
	}
	return b
}
