package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Field bounds. Part of the wire format.
const (
	MaxHostnameLen     = 64    // bytes of a machine's hostname
	MaxAppVersionLen   = 32    // bytes of an application version string
	MaxOrderIDLen      = 64    // bytes of a shop's order id
	MaxErrorMessageLen = 255   // bytes of an ErrorResponse message
	MaxMintCount       = 10000 // keys of one order
	MaxTermYears       = 10
	MaxTermMonths      = 120
	MaxTermDays        = 365
)

// maxFingerprintLen is the largest encoded Fingerprint.
const maxFingerprintLen = 1 + MaxComponents*(1+FPHashSize)

// TermKind says how a license term is given. Part of the wire format.
type TermKind uint8

// Term kinds. Part of the wire format.
const (
	TermDefault   TermKind = 0 // the product's default term
	TermYears     TermKind = 1 // Value years, 1..MaxTermYears
	TermMonths    TermKind = 2 // Value months, 1..MaxTermMonths
	TermPerpetual TermKind = 3 // no end
	TermDays      TermKind = 4 // Value days, 1..MaxTermDays (trials)
)

var termKindNames = [...]string{
	TermDefault: "default", TermYears: "years", TermMonths: "months",
	TermPerpetual: "perpetual", TermDays: "days",
}

// String returns the term kind's name, such as "months".
func (k TermKind) String() string {
	if int(k) < len(termKindNames) {
		return termKindNames[k]
	}
	return fmt.Sprintf("TermKind(%d)", uint8(k))
}

// Term is the length of a license term.
//
// Encoding (part of the wire format):
//
//	+------+-----------+
//	| kind | value (2) |
//	+------+-----------+
//
// Value counts years, months or days; it is zero for TermDefault and
// TermPerpetual, so that each term has one encoding.
type Term struct {
	Kind  TermKind
	Value uint16
}

// termLen is the encoded size of a Term.
const termLen = 3

// Check reports whether t is a term the parsers accept: ErrInvalidField for
// an unknown kind or a count out of range, ErrNonCanonical for a count on a
// kind that takes none.
func (t Term) Check() error {
	var max uint16
	switch t.Kind {
	case TermDefault, TermPerpetual:
		if t.Value != 0 {
			return fmt.Errorf("%w: term value %d with kind %v", ErrNonCanonical, t.Value, t.Kind)
		}
		return nil
	case TermYears:
		max = MaxTermYears
	case TermMonths:
		max = MaxTermMonths
	case TermDays:
		max = MaxTermDays
	default:
		return fmt.Errorf("%w: term kind %d", ErrInvalidField, uint8(t.Kind))
	}
	if t.Value < 1 || t.Value > max {
		return fmt.Errorf("%w: term of %d %v not in 1..%d", ErrInvalidField, t.Value, t.Kind, max)
	}
	return nil
}

func (t Term) append(b []byte) []byte {
	b = append(b, byte(t.Kind))
	return binary.BigEndian.AppendUint16(b, t.Value)
}

// decoder reads a message body front to back. Every read checks the length
// before it reads; the first failure sticks, later reads return zero
// values, and end reports the failure. Slices it returns point into the
// body, with their capacity cut to their length so that appending to one
// never writes over the input. It never allocates.
type decoder struct {
	b   []byte
	off int
	err error
}

// take returns the next n bytes.
func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.off {
		d.err = ErrShort
		return nil
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8() uint8 {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if s := d.take(2); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if s := d.take(4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if s := d.take(8); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

func (d *decoder) i64() int64 { return int64(d.u64()) }

// copy fills dst from the next len(dst) bytes.
func (d *decoder) copy(dst []byte) { copy(dst, d.take(len(dst))) }

// bytes8 reads a field with a one-byte length prefix.
func (d *decoder) bytes8() []byte { return d.take(int(d.u8())) }

// bytes16 reads a field with a two-byte length prefix.
func (d *decoder) bytes16() []byte { return d.take(int(d.u16())) }

func (d *decoder) term() Term { return Term{Kind: TermKind(d.u8()), Value: d.u16()} }

// sub runs a parser of a self-delimiting structure on the rest of the body.
// Errors other than truncation are wrapped to name the field.
func sub[T any](d *decoder, field string, parse func([]byte) (T, int, error)) T {
	var zero T
	if d.err != nil {
		return zero
	}
	v, n, err := parse(d.b[d.off:])
	if err != nil {
		if !errors.Is(err, ErrShort) {
			err = fmt.Errorf("%w (%s)", err, field)
		}
		d.err = err
		return zero
	}
	d.off += n
	return v
}

// end returns the first failure, or ErrTrailing if bytes are left over.
func (d *decoder) end() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return ErrTrailing
	}
	return nil
}

// Field checks. Each returns nil or an error wrapping ErrInvalidField that
// names the field; none allocates when the field is valid. None ever puts
// the field's bytes into the error, since some are secrets (license keys).

func checkLen(field string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%w: %s length %d not in %d..%d", ErrInvalidField, field, n, lo, hi)
	}
	return nil
}

// keyChar marks the bytes that may appear in a license key or product
// code: the canonical, upper-case alphabet 0-9A-Z.
var keyChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	return t
}()

// checkKeyChars checks that s holds only canonical key characters. The
// check character is not verified here: the gateway does that with keygen,
// so that a well-formed key with a typo gets StatusMalformedKey.
func checkKeyChars(field string, s []byte) error {
	for i, c := range s {
		if !keyChar[c] {
			return fmt.Errorf("%w: %s character %d not in 0-9A-Z", ErrInvalidField, field, i)
		}
	}
	return nil
}

// checkPrintable checks that s is printable ASCII, space to tilde.
func checkPrintable(field string, s []byte) error {
	for i, c := range s {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: %s byte %d not printable ASCII", ErrInvalidField, field, i)
		}
	}
	return nil
}

// checkText checks that s is valid UTF-8 free of control characters (C0,
// DEL and C1): text that may be shown to a person, in a terminal or an
// operator's console, without reinterpreting it.
func checkText(field string, s []byte) error {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Errorf("%w: %s has a control character at byte %d", ErrInvalidField, field, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("%w: %s is not UTF-8 at byte %d", ErrInvalidField, field, i)
		}
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s has a control character at byte %d", ErrInvalidField, field, i)
		}
		i += size
	}
	return nil
}

// checkTime checks that a time field is not negative: Unix times on this
// wire are never before 1970, and zero means "none" where the field allows.
func checkTime(field string, t int64) error {
	if t < 0 {
		return fmt.Errorf("%w: %s is negative", ErrInvalidField, field)
	}
	return nil
}

// checkChanged checks a mask of changed fingerprint kinds: bit k stands for
// kind k, and there is no kind 0.
func checkChanged(mask uint32) error {
	if mask&1 != 0 {
		return fmt.Errorf("%w: changed-kinds mask has bit 0 set", ErrInvalidField)
	}
	return nil
}

// checkMachine checks what an activation, a trial request and an offline
// request say of the machine: its fingerprint, a hostname of text and an
// app version of printable characters, each within its bound.
func checkMachine(f *Fingerprint, hostname, appVersion []byte) error {
	if err := checkFingerprint(f); err != nil {
		return err
	}
	if err := checkLen("hostname", len(hostname), 0, MaxHostnameLen); err != nil {
		return err
	}
	if err := checkText("hostname", hostname); err != nil {
		return err
	}
	if err := checkLen("app version", len(appVersion), 0, MaxAppVersionLen); err != nil {
		return err
	}
	return checkPrintable("app version", appVersion)
}

// checkFingerprint checks what ParseFingerprint checks, for a Fingerprint
// built by hand: 1..MaxComponents components, kinds 1..MaxKind strictly
// ascending.
func checkFingerprint(f *Fingerprint) error {
	if f.N == 0 || f.N > MaxComponents {
		return fmt.Errorf("%w: fingerprint has %d components", ErrInvalidField, f.N)
	}
	var prev ComponentKind
	for _, c := range f.Components() {
		if c.Kind > MaxKind {
			return fmt.Errorf("%w: fingerprint component kind %d", ErrInvalidField, uint8(c.Kind))
		}
		if c.Kind == 0 || c.Kind <= prev {
			return fmt.Errorf("%w: fingerprint component kinds not strictly ascending", ErrNonCanonical)
		}
		prev = c.Kind
	}
	return nil
}
