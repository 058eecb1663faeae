package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nextCard returns cardForTest announcing a next Noise key and TLS pin.
func nextCard(tb testing.TB) *Card {
	c := cardForTest(tb)
	for i := range c.NextNoiseKey {
		c.NextNoiseKey[i] = byte(0x40 + i)
		c.NextTLSPin[i] = byte(0x80 + i)
	}
	return c
}

// TestCardNextGolden checks the encoding of the next-* lines against a
// golden file, that the card parses back equal, and that the accessors
// list the current key or pin first.
func TestCardNextGolden(t *testing.T) {
	c := nextCard(t)
	path := filepath.Join("testdata", "card-next.golden")
	if os.Getenv("TOLLGATE_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, c.Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("a card with next-* lines encodes differently: first difference at byte %d", firstDiff(got, want))
	}
	got, err := ParseCard(want)
	if err != nil {
		t.Fatalf("ParseCard(golden): %v", err)
	}
	if !cardEqual(got, c) {
		t.Fatal("the golden card parsed to another card")
	}
	if ks := got.NoiseKeys(); len(ks) != 2 || ks[0] != c.NoiseKey || ks[1] != c.NextNoiseKey {
		t.Fatalf("NoiseKeys = %x", ks)
	}
	if ps := got.TLSPins(); len(ps) != 2 || ps[0] != c.TLSPin || ps[1] != c.NextTLSPin {
		t.Fatalf("TLSPins = %x", ps)
	}
	plain := cardForTest(t)
	if len(plain.NoiseKeys()) != 1 || len(plain.TLSPins()) != 1 || plain.HasNextNoiseKey() || plain.HasNextTLSPin() {
		t.Fatal("a card without next-* lines announces something")
	}
	if bytes.Contains(plain.Marshal(), []byte("next-")) {
		t.Fatal("a card without next keys marshals next-* lines")
	}
	// Either line alone.
	one := cardForTest(t)
	one.NextTLSPin = c.NextTLSPin
	if got, err := ParseCard(one.Marshal()); err != nil || !cardEqual(got, one) {
		t.Fatalf("a card with next-tls-pin alone: %v", err)
	}
}

// TestParseCardNextErrors checks the strictness of the next-* lines.
func TestParseCardNextErrors(t *testing.T) {
	c := nextCard(t)
	base := string(cardForTest(t).Marshal())
	nk := "next-noise-key " + b64(c.NextNoiseKey[:]) + "\n"
	np := "next-tls-pin sha256/" + b64(c.NextTLSPin[:]) + "\n"
	if _, err := ParseCard([]byte(base + nk + np)); err != nil {
		t.Fatalf("the base card does not parse: %v", err)
	}
	zero := make([]byte, 32)
	tests := []struct {
		name, text string
		want       error
	}{
		{"next-noise-key twice", base + nk + nk, ErrCardRepeated},
		{"next-tls-pin twice", base + np + np, ErrCardRepeated},
		{"next-noise-key no value", base + "next-noise-key\n", ErrCardSyntax},
		{"next-tls-pin two values", base + "next-tls-pin sha256/" + b64(c.NextTLSPin[:]) + " x\n", ErrCardSyntax},
		{"next-noise-key short", base + "next-noise-key " + b64(c.NextNoiseKey[:31]) + "\n", ErrCardValue},
		{"next-noise-key bad base64", base + "next-noise-key ???\n", ErrCardValue},
		{"next-noise-key zero", base + "next-noise-key " + b64(zero) + "\n", ErrCardValue},
		{"next-tls-pin no prefix", base + "next-tls-pin " + b64(c.NextTLSPin[:]) + "\n", ErrCardValue},
		{"next-tls-pin zero", base + "next-tls-pin sha256/" + b64(zero) + "\n", ErrCardValue},
		{"next-noise-key is noise-key", base + "next-noise-key " + b64(c.NoiseKey[:]) + "\n", ErrCardValue},
		{"next-tls-pin is tls-pin", base + "next-tls-pin sha256/" + b64(c.TLSPin[:]) + "\n", ErrCardValue},
		{"case matters", base + "Next-noise-key " + b64(c.NextNoiseKey[:]) + "\n", ErrCardField},
	}
	for _, tc := range tests {
		got, err := ParseCard([]byte(tc.text))
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), b64(c.NextNoiseKey[:])) {
			t.Errorf("%s: the error quotes the key", tc.name)
		}
	}
}
