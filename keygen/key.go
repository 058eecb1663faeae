package keygen

import (
	cryptorand "crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Key format constants. Part of the key format and of the wire format,
// which carries keys in canonical form.
const (
	// KeyLen is the number of characters in a canonical key.
	KeyLen = 30
	// ProductCodeLen is the number of characters in a product code, the
	// first characters of every key.
	ProductCodeLen = 5
	// RandomLen is the number of random characters in a key: 24 × log2(36)
	// ≈ 124 bits.
	RandomLen = KeyLen - ProductCodeLen - 1
	// DisplayLen is the length of a key as Display shows it: six groups of
	// five characters joined by dashes.
	DisplayLen = KeyLen + KeyLen/groupLen - 1
)

// groupLen is the number of characters between dashes in the display form.
const groupLen = 5

// MaxBatch is the largest n MintBatch accepts, so that a bad count cannot
// make it allocate without bound (30 bytes per key).
const MaxBatch = 1_000_000

// A Key is a license key in canonical form: 30 upper-case characters from
// 0-9A-Z whose last character is the Damm check character of the other 29.
// Every Key that ParseKey, ParseCanonical, Mint or MintBatch returns is
// valid; the zero Key is not a valid key and stands for "no key".
//
// Canonical layout (part of the wire format; ParseCanonical reads it and
// Append writes it):
//
//	0         5                                                  29   30
//	+---------+--------------------------------------------------+----+
//	| product |     random characters from crypto/rand (24)      | ck |
//	+---------+--------------------------------------------------+----+
//
// The check character ck covers all 29 characters before it, product code
// included (see damm.go).
//
// A Key is a bearer secret. It prints redacted with fmt (every verb), slog
// and its String and GoString methods, and refuses MarshalText; only Display
// and Append give it whole. Use Equal, not ==, where the time taken must not
// depend on how many leading characters match.
type Key [KeyLen]byte

// ParseKey reads a key as a person types it: upper or lower case, with any
// number of dashes and spaces anywhere. Anything else is an error: ErrLength
// or ErrCharacter wrapped with the character count or the 1-based position
// of the first bad character in s (every byte before it is ASCII, so bytes
// and characters agree), or ErrCheck. The error never contains any part of
// s. On error the zero Key is returned.
//
// ParseKey does not allocate unless it fails with ErrLength or
// ErrCharacter.
func ParseKey(s string) (Key, error) {
	var k Key
	n := 0 // key characters seen
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if charValue[c] == noValue {
			return Key{}, fmt.Errorf("%w at position %d", ErrCharacter, i+1)
		}
		if n < KeyLen {
			k[n] = c
		}
		n++
	}
	if n != KeyLen {
		return Key{}, fmt.Errorf("%w: key has %d characters, want %d", ErrLength, n, KeyLen)
	}
	if !validCheck(k[:]) {
		return Key{}, ErrCheck
	}
	return k, nil
}

// ParseCanonical reads a key in canonical form, as it travels on the wire:
// exactly KeyLen bytes, each in 0-9A-Z (upper case only), with a valid
// check character. It returns exactly ErrLength, ErrCharacter or ErrCheck
// on error, with the zero Key. It never allocates, on success or failure,
// and does a fixed amount of work per byte, so the gateway can drop a
// mistyped or made-up key before touching the store.
func ParseCanonical(b []byte) (Key, error) {
	if len(b) != KeyLen {
		return Key{}, ErrLength
	}
	var r uint8
	for _, c := range b {
		v := charValue[c]
		if v == noValue {
			return Key{}, ErrCharacter
		}
		r = dammTable[r][v]
	}
	if r != 0 {
		return Key{}, ErrCheck
	}
	return Key(b), nil
}

// validCheck reports whether the Damm fold of the canonical characters s
// ends at 0. Every byte of s must be in the alphabet.
func validCheck(s []byte) bool {
	var r uint8
	for _, c := range s {
		r = dammTable[r][charValue[c]]
	}
	return r == 0
}

// Append appends the canonical form of k, its KeyLen characters, to b.
func (k Key) Append(b []byte) []byte { return append(b, k[:]...) }

// Len returns the length of the canonical form, KeyLen.
func (k Key) Len() int { return KeyLen }

// Display returns the whole key for its owner to read, in groups of five:
// 1AJS2-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX. It returns "" for the zero Key.
// This is the only method that gives the key as text; never log its result.
func (k Key) Display() string {
	if k.IsZero() {
		return ""
	}
	return string(k.appendGrouped(make([]byte, 0, DisplayLen), false))
}

// String returns the key redacted to its product code and check character,
// such as 1AJS2-*****-*****-*****-*****-****7: enough to tell keys apart in
// a log, useless to anyone who reads it. The zero Key prints as "(no key)".
func (k Key) String() string {
	if k.IsZero() {
		return "(no key)"
	}
	return string(k.appendGrouped(make([]byte, 0, DisplayLen), true))
}

// GoString returns the redacted key as keygen.Key("1AJS2-*****-…-****7"),
// so %#v does not leak it either.
func (k Key) GoString() string {
	if k.IsZero() {
		return "keygen.Key{}"
	}
	return `keygen.Key("` + k.String() + `")`
}

// Format makes every fmt verb print the redacted form: without it %d or %x
// would print the key's bytes.
func (k Key) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			io.WriteString(f, k.GoString())
			return
		}
		fallthrough
	case 's', 'q', 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), k.String())
	default:
		fmt.Fprintf(f, "%%!%c(keygen.Key=%s)", verb, k.String())
	}
}

// LogValue makes log/slog record the redacted form.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText always fails with ErrMarshal, so that a key inside a struct
// is never written out whole by encoding/json or similar by accident, nor
// silently replaced by its redacted form. Encode Display() explicitly.
func (k Key) MarshalText() ([]byte, error) { return nil, ErrMarshal }

// UnmarshalText parses text with ParseKey.
func (k *Key) UnmarshalText(text []byte) error {
	key, err := ParseKey(string(text))
	*k = key
	return err
}

// appendGrouped appends the dashed form of k to b, with the random
// characters replaced by '*' if redact is set.
func (k Key) appendGrouped(b []byte, redact bool) []byte {
	for i, c := range k {
		if i > 0 && i%groupLen == 0 {
			b = append(b, '-')
		}
		if redact && i >= ProductCodeLen && i < KeyLen-1 {
			c = '*'
		}
		b = append(b, c)
	}
	return b
}

// Product returns the product code, the first ProductCodeLen characters.
func (k Key) Product() ProductCode { return ProductCode(k[:ProductCodeLen]) }

// IsZero reports whether k is the zero Key, which is not a valid key.
func (k Key) IsZero() bool { return k == Key{} }

// Equal reports whether k and o are the same key, in time that does not
// depend on their contents.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// A ProductCode is the first five characters of a key, from 0-9A-Z,
// upper case. It names a product and license type (1AJS2: VSE 2.1 Lite for
// Windows, 1 client, 1 year); what it means is up to the publisher. It is
// not secret. The zero ProductCode is not valid.
type ProductCode [ProductCodeLen]byte

// ParseProductCode reads a product code: exactly ProductCodeLen characters
// from 0-9A-Z in either case, returned in upper case. It fails with an error
// wrapping ErrProductCode.
func ParseProductCode(s string) (ProductCode, error) {
	if len(s) != ProductCodeLen {
		return ProductCode{}, fmt.Errorf("%w: length %d, want %d", ErrProductCode, len(s), ProductCodeLen)
	}
	var p ProductCode
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if charValue[c] == noValue {
			return ProductCode{}, fmt.Errorf("%w: invalid character at position %d", ErrProductCode, i+1)
		}
		p[i] = c
	}
	return p, nil
}

// String returns the product code, such as 1AJS2. An invalid one (the
// zero ProductCode, or one not made by ParseProductCode) is quoted.
func (p ProductCode) String() string {
	if !p.valid() {
		return strconv.Quote(string(p[:]))
	}
	return string(p[:])
}

// MarshalText returns the product code; it fails with ErrProductCode if p
// is not valid.
func (p ProductCode) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, ErrProductCode
	}
	return p[:], nil
}

// UnmarshalText parses text with ParseProductCode.
func (p *ProductCode) UnmarshalText(text []byte) error {
	code, err := ParseProductCode(string(text))
	*p = code
	return err
}

// valid reports whether every character of p is canonical.
func (p ProductCode) valid() bool {
	for _, c := range p {
		if charValue[c] == noValue {
			return false
		}
	}
	return true
}

// rejectFrom is the smallest random byte value that is thrown away: 252 is
// 7 × 36, so the bytes kept, taken modulo 36, give each character with
// exactly the same probability.
const rejectFrom = 7 * radix

// maxRandomChunk bounds the buffer MintBatch reads randomness into.
const maxRandomChunk = 64 << 10

// Mint makes a new key for product p with random characters from r, or
// from crypto/rand if r is nil. It may read more bytes from r than it uses.
// It fails with ErrProductCode if p is not valid, or an error wrapping
// ErrRandom if r fails.
func Mint(p ProductCode, r io.Reader) (Key, error) {
	if !p.valid() {
		return Key{}, ErrProductCode
	}
	// 32 bytes give the 24 characters needed unless more than 8 of them
	// are rejected (probability about 2e-9), in which case fill reads again.
	var buf [RandomLen + 8]byte
	src := newCharSource(r, buf[:])
	var k Key
	err := src.mint(&k, p)
	clear(buf[:])
	if err != nil {
		return Key{}, err
	}
	return k, nil
}

// MintBatch makes n new keys for product p, as Mint does, reading
// randomness in large blocks. It fails with ErrBatchSize unless
// 0 ≤ n ≤ MaxBatch. Keys in a batch are independent: with 124 random bits
// a repeat is not expected, but the store must still refuse a duplicate.
func MintBatch(p ProductCode, n int, r io.Reader) ([]Key, error) {
	if !p.valid() {
		return nil, ErrProductCode
	}
	if n < 0 || n > MaxBatch {
		return nil, fmt.Errorf("%w: %d, want 0 to %d", ErrBatchSize, n, MaxBatch)
	}
	// One byte in 64 is rejected on average; 1/32 extra usually makes one
	// read enough for a batch that fits in maxRandomChunk.
	need := n * RandomLen
	buf := make([]byte, min(need+need/32+16, maxRandomChunk))
	src := newCharSource(r, buf)
	keys := make([]Key, n)
	for i := range keys {
		if err := src.mint(&keys[i], p); err != nil {
			clear(buf)
			clear(keys)
			return nil, err
		}
	}
	clear(buf)
	return keys, nil
}

// charSource turns random bytes into uniformly distributed characters by
// rejection sampling. It is not safe for concurrent use.
type charSource struct {
	r        io.Reader
	buf      []byte // at least 16 bytes
	pos      int    // next unused byte of buf
	accepted bool   // a byte of the current buf has been used
}

func newCharSource(r io.Reader, buf []byte) *charSource {
	if r == nil {
		r = cryptorand.Reader
	}
	return &charSource{r: r, buf: buf, pos: len(buf), accepted: true}
}

// mint fills k with product p, random characters and the check character.
func (s *charSource) mint(k *Key, p ProductCode) error {
	copy(k[:], p[:])
	if err := s.fill(k[ProductCodeLen : KeyLen-1]); err != nil {
		return err
	}
	k[KeyLen-1] = checkChar(k[:KeyLen-1])
	return nil
}

// fill fills dst with random characters.
func (s *charSource) fill(dst []byte) error {
	for i := 0; i < len(dst); {
		if s.pos == len(s.buf) {
			// A working source rejects a whole buffer of 16 bytes or more
			// with probability below 2^-96: this is a broken source, and
			// without the check fill would loop forever.
			if !s.accepted {
				return fmt.Errorf("%w: every byte of a block was 252 or more", ErrRandom)
			}
			if _, err := io.ReadFull(s.r, s.buf); err != nil {
				return fmt.Errorf("%w: %w", ErrRandom, err)
			}
			s.pos, s.accepted = 0, false
		}
		b := s.buf[s.pos]
		s.pos++
		if b < rejectFrom {
			dst[i] = alphabet[b%radix]
			i++
			s.accepted = true
		}
	}
	return nil
}
