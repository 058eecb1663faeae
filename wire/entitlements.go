package wire

import (
	"bytes"
	"fmt"
	"iter"
	"slices"
)

// Entitlement bounds. Part of the wire format.
const (
	MaxEntitlements   = 32 // names in one list
	MaxEntitlementLen = 64 // bytes of one name
)

// maxEntitlementsLen is the largest encoded Entitlements.
const maxEntitlementsLen = 1 + MaxEntitlements*(1+MaxEntitlementLen)

// Entitlements is a set of feature names a license grants, such as
// "export.pdf" or "seats-pool". It holds the encoding itself: a parsed value
// points into the input and costs nothing to carry or compare. The zero
// value is the empty set. Build one with NewEntitlements.
//
// Encoding (part of the wire format):
//
//	 0       1       2                  2+len
//	+-------+-------+------------------+---- ... ----+
//	| count |  len  |   name (len)     | count-1 more|
//	+-------+-------+------------------+---- ... ----+
//
// count is 0 to MaxEntitlements; each name is 1 to MaxEntitlementLen bytes
// of [a-z0-9._-]; names are in strictly ascending byte order, so a name
// occurs once and every set has exactly one encoding.
type Entitlements struct {
	n   uint8
	raw []byte // the entries after the count byte
}

// entitlementChar marks the bytes allowed in an entitlement name.
var entitlementChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['.'], t['_'], t['-'] = true, true, true
	return t
}()

// checkEntitlement checks the i'th name of a list, which must follow prev.
func checkEntitlement[S string | []byte](i int, name, prev S) error {
	if len(name) < 1 || len(name) > MaxEntitlementLen {
		return fmt.Errorf("%w: entitlement %d length %d not in 1..%d", ErrInvalidField, i, len(name), MaxEntitlementLen)
	}
	for j := 0; j < len(name); j++ {
		if !entitlementChar[name[j]] {
			return fmt.Errorf("%w: entitlement %d byte %d not in [a-z0-9._-]", ErrInvalidField, i, j)
		}
	}
	if i > 0 && string(prev) >= string(name) {
		if string(prev) == string(name) {
			return fmt.Errorf("%w: duplicate entitlement %q", ErrNonCanonical, name)
		}
		return fmt.Errorf("%w: entitlement %d out of order", ErrNonCanonical, i)
	}
	return nil
}

// ParseEntitlements parses an encoded set at the start of b and returns it
// with the number of bytes read. The result points into b.
func ParseEntitlements(b []byte) (Entitlements, int, error) {
	d := decoder{b: b}
	n := d.u8()
	if d.err != nil {
		return Entitlements{}, 0, d.err
	}
	if n > MaxEntitlements {
		return Entitlements{}, 0, fmt.Errorf("%w: %d entitlements > %d", ErrInvalidField, n, MaxEntitlements)
	}
	var prev []byte
	for i := range int(n) {
		name := d.bytes8()
		if d.err != nil {
			return Entitlements{}, 0, d.err
		}
		if err := checkEntitlement(i, name, prev); err != nil {
			return Entitlements{}, 0, err
		}
		prev = name
	}
	return Entitlements{n: n, raw: b[1:d.off:d.off]}, d.off, nil
}

// NewEntitlements returns the set of the given names, in any order. It
// fails on a name that is empty, too long or has a byte outside
// [a-z0-9._-], on a repeated name, and on more than MaxEntitlements names.
// Unlike the parser it allocates: it is for building a request.
func NewEntitlements(names ...string) (Entitlements, error) {
	if len(names) > MaxEntitlements {
		return Entitlements{}, fmt.Errorf("%w: %d entitlements > %d", ErrInvalidField, len(names), MaxEntitlements)
	}
	sorted := slices.Sorted(slices.Values(names))
	size := 0
	for i, name := range sorted {
		var prev string
		if i > 0 {
			prev = sorted[i-1]
		}
		if err := checkEntitlement(i, name, prev); err != nil {
			return Entitlements{}, err
		}
		size += 1 + len(name)
	}
	raw := make([]byte, 0, size)
	for _, name := range sorted {
		raw = append(raw, byte(len(name)))
		raw = append(raw, name...)
	}
	return Entitlements{n: uint8(len(sorted)), raw: raw}, nil
}

// Count returns the number of names in the set.
func (e Entitlements) Count() int { return int(e.n) }

// All yields the names in ascending order. The slices point into e's
// encoding (for a parsed set, into the input): copy one to keep it.
func (e Entitlements) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		raw := e.raw
		for len(raw) > 0 {
			n := 1 + int(raw[0])
			if n > len(raw) {
				return // cannot happen: parsing and building check the lengths
			}
			if !yield(raw[1:n:n]) {
				return
			}
			raw = raw[n:]
		}
	}
}

// Has reports whether name is in the set.
func (e Entitlements) Has(name string) bool {
	for n := range e.All() {
		if string(n) == name {
			return true
		}
	}
	return false
}

// Equal reports whether e and o hold the same names.
func (e Entitlements) Equal(o Entitlements) bool {
	return e.n == o.n && bytes.Equal(e.raw, o.raw)
}

// Len returns the encoded size.
func (e Entitlements) Len() int { return 1 + len(e.raw) }

// Append appends the encoding of e to b.
func (e Entitlements) Append(b []byte) []byte {
	b = append(b, e.n)
	return append(b, e.raw...)
}
