package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/keygen/composite"
)

// Server card errors. ParseCard wraps one of them with the line number and
// what is wrong; none of them ever carries key material.
var (
	ErrCardHeader   = errors.New("wire: not a tollgate card of version 1")
	ErrCardSyntax   = errors.New("wire: malformed card line")
	ErrCardField    = errors.New("wire: unknown card field")
	ErrCardRepeated = errors.New("wire: repeated card field")
	ErrCardMissing  = errors.New("wire: missing card field")
	ErrCardValue    = errors.New("wire: bad card value")
	ErrCardTooLarge = errors.New("wire: card too large")
)

// Card format constants. Part of the card format.
const (
	// CardVersion is the only card version ParseCard reads.
	CardVersion = 1
	// MaxCardSize bounds a card file: room for about twenty ML-DSA-65 lease
	// keys, far more than a rotation needs.
	MaxCardSize = 64 << 10
	// MaxCardAddresses bounds the address lines of a card: the gateways of
	// one deployment a client may try, in order.
	MaxCardAddresses = 16
	// NoiseKeySize is the size of the gateway's X25519 static public key.
	NoiseKeySize = 32
	// TLSPinSize is the size of a TLS pin, a SHA-256 digest.
	TLSPinSize = 32

	cardMagic   = "tollgate-card"
	pinPrefix   = "sha256/"
	cardComment = "# Tollgate server card. Public keys only: safe to ship inside an app.\n"
)

// Card is the server card a publisher embeds in an app: where the gateway
// is and the public keys that authenticate it. It holds public keys only,
// so it is safe to ship.
//
// Format (part of the card format): UTF-8 text, one field per line, LF or
// CRLF line ends; blank lines and lines starting with '#' are ignored.
// Fields are separated by exactly one space. The first field line is the
// header; the others may come in any order; every field occurs exactly
// once except address, which occurs one to MaxCardAddresses times, and
// lease-key, which occurs one or more times (several during a key
// rotation). Base64 is standard, padded and canonical.
//
//	# Tollgate server card. Public keys only: safe to ship inside an app.
//	tollgate-card 1
//	address 127.0.0.1:7443
//	noise-key <base64 of the 32-byte X25519 static public key>
//	tls-pin sha256/<base64 of SHA-256 of the certificate's SubjectPublicKeyInfo>
//	lease-key mldsa44-ed25519 <base64 of the composite public key>
//	lease-key mldsa65-ed25519 <...>
//
// During a rotation of the gateway's transport identity the card may also
// announce the next Noise key and TLS pin, once each (cardnext.go):
//
//	next-noise-key <base64>
//	next-tls-pin sha256/<base64>
//
// Several address lines name the gateways of one deployment, which share
// one identity (Noise key, certificate, lease keys) and one database; their
// order, among themselves, is the order of preference. Two lines naming the
// same address (host names compared without case, IP addresses by value)
// are refused. A card with one address is exactly the card of a gateway
// that had only one; a client built before cards could list several
// refuses a card with more than one address line (ErrCardRepeated), so a
// publisher ships such a card only with clients of this version or later.
type Card struct {
	// Address is the gateway's host:port, a name or an IP address: the
	// first address of the card, the one preferred.
	Address string
	// Fallbacks are the card's further addresses, gateways of the same
	// deployment tried after Address in this order; nil for a card of one
	// address. Addresses returns them all, SetAddresses sets them all.
	Fallbacks []string
	// NoiseKey is the gateway's Noise static public key (X25519).
	NoiseKey [NoiseKeySize]byte
	// TLSPin is the SHA-256 of the gateway certificate's
	// SubjectPublicKeyInfo, DER-encoded.
	TLSPin [TLSPinSize]byte
	// LeaseKeys are the keys leases may be signed with, newest first by
	// convention. ParseCard returns at least one, no two equal.
	LeaseKeys []*composite.PublicKey
	// Retire dates some of LeaseKeys after a key rotation: a key is not
	// trusted for new leases after its date (cardretire.go). Nil for a
	// card without retire-after lines.
	Retire []CardRetire
	// NextNoiseKey and NextTLSPin announce the gateway's next transport
	// identity (cardnext.go): clients accept it as well as the current
	// one. Zero when the card has no next-noise-key or next-tls-pin line.
	NextNoiseKey [NoiseKeySize]byte
	NextTLSPin   [TLSPinSize]byte
}

// cardSchemes maps a lease-key scheme name to its scheme. Part of the card
// format.
var cardSchemes = [...]struct {
	name   string
	scheme composite.Scheme
}{
	{"mldsa44-ed25519", composite.MLDSA44Ed25519},
	{"mldsa65-ed25519", composite.MLDSA65Ed25519},
}

func schemeByName(name string) (composite.Scheme, bool) {
	for _, s := range cardSchemes {
		if s.name == name {
			return s.scheme, true
		}
	}
	return 0, false
}

func schemeName(s composite.Scheme) string {
	for _, c := range cardSchemes {
		if c.scheme == s {
			return c.name
		}
	}
	return s.String()
}

// ParseCard decodes a server card. It is strict: an unknown or repeated
// field, a missing field, a wrong number of values, non-canonical base64,
// a key of the wrong size or an address that is not host:port is an error
// that names the line and what is wrong, wrapping one of the ErrCard
// sentinels. On error the card is nil.
func ParseCard(b []byte) (*Card, error) {
	if len(b) > MaxCardSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrCardTooLarge, len(b), MaxCardSize)
	}
	var (
		c                          Card
		addrs                      []string
		header, haveNoise, havePin bool
		lineNo                     int
	)
	for rest := b; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		lineNo++
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if bytes.IndexByte(line, '\r') >= 0 {
			return nil, fmt.Errorf("%w: line %d: carriage return inside the line", ErrCardSyntax, lineNo)
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := strings.Split(string(line), " ")
		for _, v := range f {
			if v == "" {
				return nil, fmt.Errorf("%w: line %d: empty field (leading, trailing or double space)", ErrCardSyntax, lineNo)
			}
		}
		name := f[0]
		if !header {
			if name != cardMagic {
				return nil, fmt.Errorf("%w: line %d: the first field must be %q", ErrCardHeader, lineNo, cardMagic)
			}
			if len(f) != 2 || f[1] != strconv.Itoa(CardVersion) {
				return nil, fmt.Errorf("%w: line %d: unsupported card version", ErrCardHeader, lineNo)
			}
			header = true
			continue
		}
		want := 2
		if name == "lease-key" {
			want = 3
		}
		switch name {
		case cardMagic, "address", "noise-key", "tls-pin", "lease-key":
			if len(f) != want {
				return nil, fmt.Errorf("%w: line %d: %s takes %d value(s), got %d", ErrCardSyntax, lineNo, name, want-1, len(f)-1)
			}
		}
		switch name {
		case cardMagic:
			return nil, fmt.Errorf("%w: line %d: %s", ErrCardRepeated, lineNo, name)
		case "address":
			if err := checkAddress(f[1]); err != nil {
				return nil, fmt.Errorf("%w: line %d: address: %w", ErrCardValue, lineNo, err)
			}
			if len(addrs) == MaxCardAddresses {
				return nil, fmt.Errorf("%w: line %d: more than %d addresses", ErrCardRepeated, lineNo, MaxCardAddresses)
			}
			if i := sameAddress(addrs, f[1]); i >= 0 {
				return nil, fmt.Errorf("%w: line %d: address %s is %s again", ErrCardRepeated, lineNo, f[1], addrs[i])
			}
			addrs = append(addrs, f[1])
		case "noise-key":
			if haveNoise {
				return nil, fmt.Errorf("%w: line %d: %s", ErrCardRepeated, lineNo, name)
			}
			if err := decodeFixed(c.NoiseKey[:], f[1]); err != nil {
				return nil, fmt.Errorf("%w: line %d: noise-key: %w", ErrCardValue, lineNo, err)
			}
			haveNoise = true
		case "tls-pin":
			if havePin {
				return nil, fmt.Errorf("%w: line %d: %s", ErrCardRepeated, lineNo, name)
			}
			v, ok := strings.CutPrefix(f[1], pinPrefix)
			if !ok {
				return nil, fmt.Errorf("%w: line %d: tls-pin must start with %q", ErrCardValue, lineNo, pinPrefix)
			}
			if err := decodeFixed(c.TLSPin[:], v); err != nil {
				return nil, fmt.Errorf("%w: line %d: tls-pin: %w", ErrCardValue, lineNo, err)
			}
			havePin = true
		case "lease-key":
			s, ok := schemeByName(f[1])
			if !ok {
				return nil, fmt.Errorf("%w: line %d: lease-key: unknown scheme %.32q", ErrCardValue, lineNo, f[1])
			}
			raw, err := base64.StdEncoding.Strict().DecodeString(f[2])
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: lease-key: not canonical base64", ErrCardValue, lineNo)
			}
			k, err := composite.ParsePublicKey(s, raw)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: lease-key: %w", ErrCardValue, lineNo, err)
			}
			for _, o := range c.LeaseKeys {
				if o.Equal(k) {
					return nil, fmt.Errorf("%w: line %d: the same lease-key twice", ErrCardRepeated, lineNo)
				}
			}
			c.LeaseKeys = append(c.LeaseKeys, k)
		case nextNoiseField, nextPinField:
			if err := c.parseNextLine(f); err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
		case retireField:
			r, err := parseRetireLine(f, c.Retire)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			c.Retire = append(c.Retire, r)
		default:
			return nil, fmt.Errorf("%w: line %d: %.32q", ErrCardField, lineNo, name)
		}
	}
	switch {
	case !header:
		return nil, fmt.Errorf("%w: no %q line", ErrCardHeader, cardMagic)
	case len(addrs) == 0:
		return nil, fmt.Errorf("%w: address", ErrCardMissing)
	case !haveNoise:
		return nil, fmt.Errorf("%w: noise-key", ErrCardMissing)
	case !havePin:
		return nil, fmt.Errorf("%w: tls-pin", ErrCardMissing)
	case len(c.LeaseKeys) == 0:
		return nil, fmt.Errorf("%w: lease-key", ErrCardMissing)
	}
	if err := c.checkRetire(); err != nil {
		return nil, err
	}
	if err := c.checkNext(); err != nil {
		return nil, err
	}
	c.Address = addrs[0]
	if len(addrs) > 1 {
		c.Fallbacks = addrs[1:]
	}
	return &c, nil
}

// Addresses returns the card's addresses in order of preference: Address,
// then Fallbacks. The slice is new; changing it leaves c as it is.
func (c *Card) Addresses() []string {
	return append([]string{c.Address}, c.Fallbacks...)
}

// SetAddresses sets the card's addresses, in order of preference, after
// checking them as ParseCard does: one to MaxCardAddresses of them, each
// host:port with a port from 1 to 65535, no two the same. On error
// (ErrCardMissing, ErrCardValue or ErrCardRepeated, naming the address) c
// is left as it was.
func (c *Card) SetAddresses(addrs []string) error {
	if len(addrs) == 0 {
		return fmt.Errorf("%w: address (give at least one HOST:PORT)", ErrCardMissing)
	}
	if len(addrs) > MaxCardAddresses {
		return fmt.Errorf("%w: %d addresses, at most %d", ErrCardRepeated, len(addrs), MaxCardAddresses)
	}
	for i, a := range addrs {
		if err := checkAddress(a); err != nil {
			return fmt.Errorf("%w: address %.64q: %w (want HOST:PORT)", ErrCardValue, a, err)
		}
		if j := sameAddress(addrs[:i], a); j >= 0 {
			return fmt.Errorf("%w: address %s is %s again", ErrCardRepeated, a, addrs[j])
		}
	}
	c.Address = addrs[0]
	c.Fallbacks = nil
	if len(addrs) > 1 {
		c.Fallbacks = append([]string(nil), addrs[1:]...)
	}
	return nil
}

// sameAddress returns the index of the address of addrs that names the
// same place as addr, or -1: the same port and the same host, a name
// compared without case, an IP address by value (so "[::1]:1" and
// "[0::1]:1" are the same). Every address given has passed checkAddress.
func sameAddress(addrs []string, addr string) int {
	host, port, _ := net.SplitHostPort(addr)
	ip, ipErr := netip.ParseAddr(host)
	for i, o := range addrs {
		h, p, _ := net.SplitHostPort(o)
		if p != port {
			continue
		}
		if oip, err := netip.ParseAddr(h); err == nil && ipErr == nil {
			if oip == ip {
				return i
			}
		} else if strings.EqualFold(h, host) {
			return i
		}
	}
	return -1
}

// checkAddress accepts host:port with a non-empty host of printable ASCII
// and a port from 1 to 65535 written canonically (no sign, no leading
// zero), so that Marshal gives back the same line.
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if host == "" {
		return errors.New("empty host")
	}
	for i := 0; i < len(host); i++ {
		if host[i] <= ' ' || host[i] > '~' {
			return errors.New("host is not printable ASCII")
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || strconv.FormatUint(p, 10) != port {
		return errors.New("port is not a number from 1 to 65535")
	}
	return nil
}

// decodeFixed decodes canonical standard base64 of exactly len(dst) bytes
// into dst. Line ends never reach it (the parser splits on them and
// refuses a stray CR), so strict decoding leaves one encoding per value.
func decodeFixed(dst []byte, s string) error {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return errors.New("not canonical base64")
	}
	if len(raw) != len(dst) {
		return fmt.Errorf("must be %d bytes, got %d", len(dst), len(raw))
	}
	copy(dst, raw)
	return nil
}

// Marshal encodes c in the card format, with a comment line on top, its
// address lines in order (Address, then Fallbacks). A card that ParseCard
// returned marshals to a card it parses back equal; a card built in memory
// with an invalid or repeated address or no valid lease key marshals to
// one that ParseCard refuses.
func (c *Card) Marshal() []byte {
	enc := base64.StdEncoding
	b := make([]byte, 0, 256+len(c.LeaseKeys)*2700)
	b = append(b, cardComment...)
	b = append(b, cardMagic+" "...)
	b = strconv.AppendInt(b, CardVersion, 10)
	b = append(b, "\naddress "...)
	b = append(b, c.Address...)
	for _, a := range c.Fallbacks {
		b = append(b, "\naddress "...)
		b = append(b, a...)
	}
	b = append(b, "\nnoise-key "...)
	b = enc.AppendEncode(b, c.NoiseKey[:])
	b = append(b, "\ntls-pin "+pinPrefix...)
	b = enc.AppendEncode(b, c.TLSPin[:])
	b = append(b, '\n')
	b = c.appendNext(b)
	for _, k := range c.LeaseKeys {
		b = append(b, "lease-key "...)
		b = append(b, schemeName(k.Scheme())...)
		b = append(b, ' ')
		b = enc.AppendEncode(b, k.Bytes())
		b = append(b, '\n')
	}
	return c.appendRetire(b)
}

// LoadCard reads and parses the card file at path.
func LoadCard(path string) (*Card, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wire: loading card: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCardSize+1))
	if err != nil {
		return nil, fmt.Errorf("wire: loading card %s: %w", path, err)
	}
	c, err := ParseCard(b)
	if err != nil {
		return nil, fmt.Errorf("wire: loading card %s: %w", path, err)
	}
	return c, nil
}
