package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// cardLeaseKey returns a composite public key of scheme s whose bytes are a
// pattern seeded by seed. Every byte string of the right length is a key
// ParsePublicKey accepts, which is all a card needs.
func cardLeaseKey(tb testing.TB, s composite.Scheme, seed byte) *composite.PublicKey {
	tb.Helper()
	raw := make([]byte, s.PublicKeySize())
	for i := range raw {
		raw[i] = seed + byte(i*7)
	}
	k, err := composite.ParsePublicKey(s, raw)
	if err != nil {
		tb.Fatalf("ParsePublicKey: %v", err)
	}
	return k
}

func cardForTest(tb testing.TB) *Card {
	c := &Card{
		Address:   "127.0.0.1:7443",
		LeaseKeys: []*composite.PublicKey{cardLeaseKey(tb, composite.MLDSA44Ed25519, 1), cardLeaseKey(tb, composite.MLDSA65Ed25519, 2)},
	}
	for i := range c.NoiseKey {
		c.NoiseKey[i] = byte(i)
		c.TLSPin[i] = byte(0xff - i)
	}
	return c
}

// cardEqual compares two cards field by field, lease keys in order.
func cardEqual(a, b *Card) bool {
	if !slices.Equal(a.Addresses(), b.Addresses()) || a.NoiseKey != b.NoiseKey || a.TLSPin != b.TLSPin || a.NextNoiseKey != b.NextNoiseKey || a.NextTLSPin != b.NextTLSPin || len(a.LeaseKeys) != len(b.LeaseKeys) || !slices.Equal(a.Retire, b.Retire) {
		return false
	}
	for i := range a.LeaseKeys {
		if !a.LeaseKeys[i].Equal(b.LeaseKeys[i]) {
			return false
		}
	}
	return true
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestCardRoundTrip(t *testing.T) {
	c := cardForTest(t)
	enc := c.Marshal()
	got, err := ParseCard(enc)
	if err != nil {
		t.Fatalf("ParseCard(Marshal()): %v", err)
	}
	if !cardEqual(c, got) {
		t.Fatalf("round trip changed the card")
	}
	if again := got.Marshal(); !bytes.Equal(again, enc) {
		t.Fatalf("Marshal is not stable: first difference at byte %d", firstDiff(again, enc))
	}
	if !bytes.HasPrefix(enc, []byte("# ")) {
		t.Errorf("Marshal does not start with the comment line")
	}
}

// TestParseCardHandWritten reads a card as a person would edit it: comments
// anywhere, blank lines, CRLF line ends, fields out of order, no final
// newline.
func TestParseCardHandWritten(t *testing.T) {
	c := cardForTest(t)
	text := "# my card\r\n\r\n" +
		"tollgate-card 1\r\n" +
		"# the gateway\n" +
		"lease-key mldsa65-ed25519 " + b64(c.LeaseKeys[1].Bytes()) + "\n" +
		"tls-pin sha256/" + b64(c.TLSPin[:]) + "\r\n" +
		"\n" +
		"noise-key " + b64(c.NoiseKey[:]) + "\n" +
		"address [::1]:443"
	got, err := ParseCard([]byte(text))
	if err != nil {
		t.Fatalf("ParseCard: %v", err)
	}
	want := &Card{Address: "[::1]:443", NoiseKey: c.NoiseKey, TLSPin: c.TLSPin, LeaseKeys: c.LeaseKeys[1:]}
	if !cardEqual(got, want) {
		t.Fatalf("parsed card differs from the one written")
	}
}

func TestParseCardErrors(t *testing.T) {
	c := cardForTest(t)
	header := "tollgate-card 1\n"
	addr := "address 127.0.0.1:7443\n"
	noise := "noise-key " + b64(c.NoiseKey[:]) + "\n"
	pin := "tls-pin sha256/" + b64(c.TLSPin[:]) + "\n"
	lease := "lease-key mldsa44-ed25519 " + b64(c.LeaseKeys[0].Bytes()) + "\n"
	valid := header + addr + noise + pin + lease
	if _, err := ParseCard([]byte(valid)); err != nil {
		t.Fatalf("the base card does not parse: %v", err)
	}
	short := b64(c.NoiseKey[:31])
	nonCanonical := b64(c.NoiseKey[:])
	nonCanonical = nonCanonical[:len(nonCanonical)-2] + "B=" // padding bits not zero
	tests := []struct {
		name string
		text string
		want error
		line string // "line N" the message must name, "" if none
	}{
		{"empty", "", ErrCardHeader, ""},
		{"only comments", "# nothing\n\n", ErrCardHeader, ""},
		{"field before header", addr + header, ErrCardHeader, "line 1"},
		{"version 2", "tollgate-card 2\n", ErrCardHeader, "line 1"},
		{"no version", "tollgate-card\n", ErrCardHeader, "line 1"},
		{"header twice", valid + header, ErrCardRepeated, "line 6"},
		{"unknown field", valid + "colour blue\n", ErrCardField, "line 6"},
		{"field names are case-sensitive", header + "Address 127.0.0.1:7443\n", ErrCardField, "line 2"},
		{"repeated address", valid + addr, ErrCardRepeated, "line 6"},
		{"repeated address, host case", header + "address gw.example.com:1\naddress GW.example.COM:1\n", ErrCardRepeated, "line 3"},
		{"repeated address, IPv6 spelling", header + "address [::1]:1\naddress [0:0::1]:1\n", ErrCardRepeated, "line 3"},
		{"repeated address among several", header + "address a:1\naddress b:1\naddress a:1\n", ErrCardRepeated, "line 4"},
		{"too many addresses", header + manyAddrs(MaxCardAddresses+1), ErrCardRepeated, "line 18"},
		{"bad second address", header + addr + "address 127.0.0.1:0\n", ErrCardValue, "line 3"},
		{"repeated noise-key", valid + noise, ErrCardRepeated, "line 6"},
		{"repeated tls-pin", valid + pin, ErrCardRepeated, "line 6"},
		{"same lease key twice", valid + lease, ErrCardRepeated, "line 6"},
		{"missing address", header + noise + pin + lease, ErrCardMissing, ""},
		{"missing noise-key", header + addr + pin + lease, ErrCardMissing, ""},
		{"missing tls-pin", header + addr + noise + lease, ErrCardMissing, ""},
		{"missing lease-key", header + addr + noise + pin, ErrCardMissing, ""},
		{"double space", header + "address  127.0.0.1:7443\n", ErrCardSyntax, "line 2"},
		{"trailing space", header + "address 127.0.0.1:7443 \n", ErrCardSyntax, "line 2"},
		{"leading space", header + " address 127.0.0.1:7443\n", ErrCardSyntax, "line 2"},
		{"blank line of spaces", header + "  \n", ErrCardSyntax, "line 2"},
		{"stray carriage return", header + "address 127.0.0.1:7443\r\r\n", ErrCardSyntax, "line 2"},
		{"too many values", header + "noise-key " + b64(c.NoiseKey[:]) + " x\n", ErrCardSyntax, "line 2"},
		{"lease-key without scheme", header + "lease-key " + b64(c.LeaseKeys[0].Bytes()) + "\n", ErrCardSyntax, "line 2"},
		{"address without port", header + "address 127.0.0.1\n", ErrCardValue, "line 2"},
		{"address empty host", header + "address :7443\n", ErrCardValue, "line 2"},
		{"address port zero", header + "address 127.0.0.1:0\n", ErrCardValue, "line 2"},
		{"address port too big", header + "address 127.0.0.1:65536\n", ErrCardValue, "line 2"},
		{"address port leading zero", header + "address 127.0.0.1:07443\n", ErrCardValue, "line 2"},
		{"address port name", header + "address example.com:https\n", ErrCardValue, "line 2"},
		{"address non-ASCII host", header + "address gäteway:443\n", ErrCardValue, "line 2"},
		{"noise-key bad base64", header + "noise-key not*base64\n", ErrCardValue, "line 2"},
		{"noise-key unpadded", header + "noise-key " + strings.TrimRight(b64(c.NoiseKey[:]), "=") + "\n", ErrCardValue, "line 2"},
		{"noise-key non-canonical", header + "noise-key " + nonCanonical + "\n", ErrCardValue, "line 2"},
		{"noise-key url base64", header + "noise-key " + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) + "\n", ErrCardValue, "line 2"},
		{"noise-key 31 bytes", header + "noise-key " + short + "\n", ErrCardValue, "line 2"},
		{"noise-key 33 bytes", header + "noise-key " + b64(append(c.NoiseKey[:], 0)) + "\n", ErrCardValue, "line 2"},
		{"tls-pin without prefix", header + "tls-pin " + b64(c.TLSPin[:]) + "\n", ErrCardValue, "line 2"},
		{"tls-pin other hash", header + "tls-pin sha384/" + b64(c.TLSPin[:]) + "\n", ErrCardValue, "line 2"},
		{"tls-pin 31 bytes", header + "tls-pin sha256/" + b64(c.TLSPin[:31]) + "\n", ErrCardValue, "line 2"},
		{"lease-key unknown scheme", header + "lease-key ed25519 " + b64(c.NoiseKey[:]) + "\n", ErrCardValue, "line 2"},
		{"lease-key wrong size", header + "lease-key mldsa65-ed25519 " + b64(c.LeaseKeys[0].Bytes()) + "\n", ErrCardValue, "line 2"},
		{"lease-key bad base64", header + "lease-key mldsa44-ed25519 ???\n", ErrCardValue, "line 2"},
		{"too large", valid + "#" + strings.Repeat("x", MaxCardSize) + "\n", ErrCardTooLarge, ""},
	}
	for _, tc := range tests {
		got, err := ParseCard([]byte(tc.text))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
			continue
		}
		if got != nil {
			t.Errorf("%s: a card came back with the error", tc.name)
		}
		if tc.line != "" && !strings.Contains(err.Error(), tc.line+":") {
			t.Errorf("%s: error %q does not name %s", tc.name, err, tc.line)
		}
	}
}

// manyAddrs returns n distinct address lines.
func manyAddrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("address 127.0.0." + strconv.Itoa(i+1) + ":7443\n")
	}
	return b.String()
}

// TestCardOneAddressGolden checks that a card of one address encodes
// byte for byte as cards did before a card could list several (the golden
// file was written by that encoder), so that cards already shipped and
// clients already installed go on as they were.
func TestCardOneAddressGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "card-one-address.golden"))
	if err != nil {
		t.Fatal(err)
	}
	c := cardForTest(t)
	if got := c.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("a one-address card encodes differently from before: first difference at byte %d", firstDiff(got, want))
	}
	got, err := ParseCard(want)
	if err != nil {
		t.Fatalf("ParseCard(golden): %v", err)
	}
	if got.Fallbacks != nil || got.Address != c.Address {
		t.Fatalf("golden card parsed to addresses %q, want only %q", got.Addresses(), c.Address)
	}
}

// TestCardSeveralAddresses checks that address lines keep their order,
// wherever they stand among the other fields, and that a card of the
// maximum count round-trips.
func TestCardSeveralAddresses(t *testing.T) {
	c := cardForTest(t)
	text := "tollgate-card 1\n" +
		"address gw2.example.com:7443\n" +
		"noise-key " + b64(c.NoiseKey[:]) + "\n" +
		"address [2001:db8::1]:443\n" +
		"tls-pin sha256/" + b64(c.TLSPin[:]) + "\n" +
		"lease-key mldsa44-ed25519 " + b64(c.LeaseKeys[0].Bytes()) + "\n" +
		"address 127.0.0.1:7443\n"
	got, err := ParseCard([]byte(text))
	if err != nil {
		t.Fatalf("ParseCard: %v", err)
	}
	want := []string{"gw2.example.com:7443", "[2001:db8::1]:443", "127.0.0.1:7443"}
	if !slices.Equal(got.Addresses(), want) || got.Address != want[0] {
		t.Fatalf("addresses %q, want %q", got.Addresses(), want)
	}
	again, err := ParseCard(got.Marshal())
	if err != nil || !cardEqual(got, again) {
		t.Fatalf("round trip of a card of three addresses: %v", err)
	}
	if !bytes.Contains(got.Marshal(), []byte("address gw2.example.com:7443\naddress [2001:db8::1]:443\naddress 127.0.0.1:7443\nnoise-key ")) {
		t.Fatalf("Marshal does not write the address lines together, in order:\n%s", got.Marshal())
	}
	// Addresses returns a copy.
	got.Addresses()[0] = "changed:1"
	if got.Address != want[0] {
		t.Fatalf("changing what Addresses returned changed the card")
	}

	// The comment, header and address lines of c's card replaced.
	rest := strings.SplitAfterN(string(c.Marshal()), "\n", 4)[3]
	most := "tollgate-card 1\n" + manyAddrs(MaxCardAddresses) + rest
	full, err := ParseCard([]byte(most))
	if err != nil {
		t.Fatalf("a card of %d addresses: %v", MaxCardAddresses, err)
	}
	if n := len(full.Addresses()); n != MaxCardAddresses {
		t.Fatalf("%d addresses parsed, want %d", n, MaxCardAddresses)
	}
}

func TestCardSetAddresses(t *testing.T) {
	c := cardForTest(t)
	if err := c.SetAddresses([]string{"a.example:1", "b.example:2"}); err != nil {
		t.Fatalf("SetAddresses: %v", err)
	}
	if c.Address != "a.example:1" || !slices.Equal(c.Fallbacks, []string{"b.example:2"}) {
		t.Fatalf("addresses %q after SetAddresses", c.Addresses())
	}
	if err := c.SetAddresses([]string{"only.example:3"}); err != nil || c.Fallbacks != nil || c.Address != "only.example:3" {
		t.Fatalf("SetAddresses of one address: %v, addresses %q", err, c.Addresses())
	}
	many := make([]string, MaxCardAddresses+1)
	for i := range many {
		many[i] = "h" + strconv.Itoa(i) + ":1"
	}
	for _, tc := range []struct {
		name  string
		addrs []string
		want  error
	}{
		{"none", nil, ErrCardMissing},
		{"bad port", []string{"a:1", "b:0"}, ErrCardValue},
		{"no port", []string{"a"}, ErrCardValue},
		{"duplicate", []string{"a:1", "b:1", "A:1"}, ErrCardRepeated},
		{"too many", many, ErrCardRepeated},
	} {
		err := c.SetAddresses(tc.addrs)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if c.Address != "only.example:3" || c.Fallbacks != nil {
			t.Errorf("%s: a refused SetAddresses changed the card to %q", tc.name, c.Addresses())
		}
	}
}

// TestParseCardErrorsHideKeys checks that an error about a key value does not
// echo the value back.
func TestParseCardErrorsHideKeys(t *testing.T) {
	v := b64(bytes.Repeat([]byte{0x5a}, 31))
	_, err := ParseCard([]byte("tollgate-card 1\nnoise-key " + v + "\n"))
	if err == nil || strings.Contains(err.Error(), v) {
		t.Fatalf("error %v: want an error that does not quote the key", err)
	}
}

func TestLoadCard(t *testing.T) {
	dir := t.TempDir()
	c := cardForTest(t)
	path := filepath.Join(dir, "card.txt")
	if err := os.WriteFile(path, c.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCard(path)
	if err != nil {
		t.Fatalf("LoadCard: %v", err)
	}
	if !cardEqual(c, got) {
		t.Fatalf("LoadCard returned a different card")
	}
	if _, err := LoadCard(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCard(missing): %v, want os.ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), MaxCardSize), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCard(big); !errors.Is(err, ErrCardTooLarge) {
		t.Errorf("LoadCard(big): %v, want ErrCardTooLarge", err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("tollgate-card 1\naddress x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCard(bad); !errors.Is(err, ErrCardValue) || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadCard(bad): %v, want ErrCardValue naming the file", err)
	}
}
